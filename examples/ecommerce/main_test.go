package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/pgtest"
)

// The command CI runs: the default run exits 0 with every invariant
// holding, and prints the report's sections.
func TestDefaultRun(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-orders", "60", "-seed", "3", "-replay"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"orders by final state", "compensations by kind", "stock conservation",
		"money: charged − refunded = revenue", "throughput:", "the rebuilt read models are identical", "every invariant holds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if errs.Len() > 0 {
		t.Errorf("stderr is not a terminal, yet got %q", errs.String())
	}
}

// Bad flags are refused with exit code 2 and a message.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-orders", "0"},
		{"-declined", "1.5"},
		{"-declined", "0.6", "-undeliverable", "0.6"},
		{"-role", "client"},
		{"-role", "warehouse", "-postgres", "postgres://x"},
		{"stray"},
	} {
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != 2 || errs.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errs.String())
		}
	}
}

// TestConsoleFlag runs the example with -console on a free port: the
// console serves during and after the run, until the context ends.
func TestConsoleFlag(t *testing.T) {
	o, err := parse([]string{"-orders", "20", "-quiet", "-console", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- runOpts(ctx, o, &out, errs) }()
	re := regexp.MustCompile(`console on (http://127\.0\.0\.1:\d+/)`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errs.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console: %s", errs.String())
		}
	}
	for path, want := range map[string]string{
		"":                                "ecommerce-orders",
		"sagas":                           "fulfilment",
		"streams?prefix=order-":           "order-o-00001",
		"correlation?id=o-00001":          "OrderPlaced",
		"saga?name=fulfilment":            "o-00001",
		"projection?name=ecommerce-stock": "stopped", // the run is over
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("/%s: status %d, want %q", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, errs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the example did not stop")
	}
}

// lockedBuffer is written by the example while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A run on PostgreSQL prints the chronicle commands that inspect what it
// left, and they work on it (the schema is the example's, not the CLI's
// default).
func TestPostgresRunPrintsWorkingCLICommands(t *testing.T) {
	url, schema := pgtest.URL(), pgtest.Schema(t)
	var out, errs bytes.Buffer
	if code := run([]string{"-orders", "20", "-quiet", "-postgres", url, "-schema", schema, "-fresh"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	cmds := inspectCommands(url, schema)
	for _, args := range cmds {
		line := "  go run ./cmd/chronicle --postgres '" + url + "' --schema " + schema + " " + strings.Join(args[4:], " ") + "\n"
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
		var cout, cerr bytes.Buffer
		if code := cli.Main(context.Background(), args, strings.NewReader(""), &cout, &cerr, cli.Options{}); code != cli.ExitOK || cout.Len() == 0 {
			t.Errorf("chronicle %s: exit %d, stderr %s", strings.Join(args[4:], " "), code, cerr.String())
		}
	}
}

// -schema and -fresh mean nothing without -postgres: refused, not ignored.
func TestPostgresFlagsWithoutPostgres(t *testing.T) {
	for _, args := range [][]string{{"-fresh"}, {"-schema", "shop"}} {
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != 2 || !strings.Contains(errs.String(), "needs -postgres") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errs.String())
		}
	}
	var out, errs bytes.Buffer
	args := []string{"-out-of-stock", "0.3", "-declined", "0.3", "-abandoned", "0.3", "-undeliverable", "0.28"}
	if code := run(args, &out, &errs); code != 2 || !strings.Contains(errs.String(), "failure rates sum to 1.18, above 1") {
		t.Errorf("rates: exit %d, stderr %q", code, errs.String())
	}
}
