package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/internal/lease"
)

// Many goroutines take turns on a few names: never two holders of one name
// at once, every acquirer gets its turn, and other names are independent.
func TestTableOneHolderPerName(t *testing.T) {
	var tab lease.Table
	names := []string{"a", "b", "c"}
	holders := make([]atomic.Int32, len(names))
	var turns atomic.Int64
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Go(func() {
			i := g % len(names)
			for range 200 {
				l, err := tab.Acquire(context.Background(), names[i])
				if err != nil {
					t.Error(err)
					return
				}
				if n := holders[i].Add(1); n != 1 {
					t.Errorf("%d holders of %q", n, names[i])
				}
				if !tab.Held(names[i]) {
					t.Errorf("%q held but Held says no", names[i])
				}
				turns.Add(1)
				holders[i].Add(-1)
				l.Release()
				l.Release() // twice is harmless
			}
		})
	}
	wg.Wait()
	if turns.Load() != 24*200 {
		t.Fatalf("%d turns, want %d", turns.Load(), 24*200)
	}
	for _, n := range names {
		if tab.Held(n) {
			t.Fatalf("%q still held", n)
		}
	}
}

// A standby waits until the holder releases, or until its context ends.
func TestTableStandbyWaits(t *testing.T) {
	var tab lease.Table
	first, err := tab.Acquire(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tab.Acquire(ctx, "x"); err != context.DeadlineExceeded {
		t.Fatalf("a standby whose context ended got %v", err)
	}
	got := make(chan *lease.Lease)
	go func() {
		l, err := tab.Acquire(context.Background(), "x")
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatal("acquired a held name")
	case <-time.After(10 * time.Millisecond):
	}
	first.Release()
	(<-got).Release()
}
