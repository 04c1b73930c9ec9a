package logtest_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/chronicle-go/chronicle/internal/logtest"
)

func TestRecorder(t *testing.T) {
	var r logtest.Recorder
	log := r.Logger().With("component", "x")
	log.Info("started")
	log.Warn("failed", "attempt", 2, "error", errors.New("boom"))
	lines, n := r.Since(0)
	if n != 2 || len(lines) != 2 || lines[0] != "started" || lines[1] != "failed: boom" {
		t.Fatalf("%q (%d)", lines, n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { log.Info("more") })
	}
	wg.Wait()
	if lines, n := r.Since(2); n != 10 || len(lines) != 8 {
		t.Fatalf("%q (%d)", lines, n)
	}
	if lines, _ := r.Since(99); len(lines) != 0 {
		t.Fatalf("%q", lines)
	}
}
