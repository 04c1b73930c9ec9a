package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
)

func TestProgressRendering(t *testing.T) {
	half := projection.Progress{Projection: "p", Events: 5000, Rate: 2500, Elapsed: 2 * time.Second, ETA: 2 * time.Second,
		Position: eventstore.Position{Commit: 7, Prepare: 500}, Head: eventstore.Position{Commit: 9, Prepare: 1000}}
	if got, want := progressBar(half, 10), "[#####.....]  50%  5000 events  2500 ev/s  ETA 2s"; got != want {
		t.Errorf("bar:\n%q\nwant\n%q", got, want)
	}
	if got, want := progressLine("p", half), "rebuild p: 50%, 5000 events, 2500 events/s, position 7/500 of 9/1000, ETA 2s"; got != want {
		t.Errorf("line:\n%q\nwant\n%q", got, want)
	}
	done := half
	done.Done, done.ETA, done.Events, done.Elapsed = true, 0, 10000, 4*time.Second
	if got, want := progressBar(done, 10), "[##########] 100%  10000 events  2500 ev/s  done in 4s"; got != want {
		t.Errorf("done bar:\n%q\nwant\n%q", got, want)
	}
	// Waiting for the horizon: what it waits for, instead of an ETA.
	waiting := half
	waiting.Waiting = true
	waiting.Holder = &eventstore.HorizonHolder{PID: 42, Database: "reports", TransactionID: 7001, State: "idle in transaction"}
	if got, want := progressLine("p", waiting), `rebuild p: 5000 events, position 7/500 of 9/1000; waiting for transaction 7001 (pid 42, database "reports", idle in transaction) to end`; got != want {
		t.Errorf("waiting line:\n%q\nwant\n%q", got, want)
	}
	if got, want := progressBar(waiting, 10), `[#####.....]  50%  5000 events  2500 ev/s  waiting for transaction 7001 (pid 42, database "reports", idle in transaction) to end`; got != want {
		t.Errorf("waiting bar:\n%q\nwant\n%q", got, want)
	}
	// An empty log, and a position past the head (the log grew): full, not over.
	if f := fraction(projection.Progress{}); f != 1 {
		t.Errorf("empty log: fraction %v", f)
	}
	if f := fraction(projection.Progress{Position: eventstore.Position{Prepare: 20}, Head: eventstore.Position{Prepare: 10}}); f != 1 {
		t.Errorf("past the head: fraction %v", f)
	}

	// A buffer is not a terminal: plain lines; the bar redraws in place
	// with a carriage return and ends with a newline.
	var buf bytes.Buffer
	p := newProgress(&buf, "p")
	if p.terminal {
		t.Fatal("a bytes.Buffer taken for a terminal")
	}
	p.report(half)
	p.report(done)
	p.end()
	if got := buf.String(); got != progressLine("p", half)+"\n"+progressLine("p", done)+"\n" {
		t.Errorf("plain progress:\n%q", got)
	}
	buf.Reset()
	p = &progress{w: &buf, name: "p", terminal: true, cols: 80}
	p.report(done)
	p.report(half) // shorter: padded over what the first left
	p.end()
	if got := buf.String(); got != "\r"+progressFit(done, 80)+"\r"+progressFit(half, 80)+"\n" {
		t.Errorf("terminal progress:\n%q", got)
	}

	// The bar fits the terminal, one column short, whatever its width.
	for _, cols := range []int{200, 80, 50, 30, 12} {
		for _, pr := range []projection.Progress{half, done} {
			line := progressFit(pr, cols)
			if n := len([]rune(line)); n != cols-1 {
				t.Errorf("%d columns: line of %d: %q", cols, n, line)
			}
		}
	}
	if got := progressFit(half, 50); !strings.HasPrefix(got, "[") || !strings.Contains(got, "ETA 2s") {
		t.Errorf("50 columns: %q", got)
	}
	if got := progressFit(half, 200); !strings.HasPrefix(got, progressBar(half, 30)) {
		t.Errorf("200 columns: the bar grows to 30 at most: %q", got)
	}

	// /dev/null is a character device, not a terminal.
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if newProgress(null, "p").terminal {
		t.Error("/dev/null taken for a terminal")
	}
}
