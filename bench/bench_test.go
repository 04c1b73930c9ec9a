package main

import (
	"bytes"
	"context"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
)

// TestQuickRun runs the harness in quick mode on a fresh schema: W4 (the
// racing writers and their contiguity check), W5 (loads, every state
// checked) and W9 (imports). It proves the harness runs end to end and its checks pass on
// every backend; it asserts no timings.
func TestQuickRun(t *testing.T) {
	schema := pgtest.Schema(t)
	cfg := defaultConfig()
	cfg.PostgresURL = pgtest.URL()
	cfg.Schema = schema
	cfg.Quick = true
	cfg.Runs = 1
	cfg.Workloads = []string{"W4", "W5", "W9"}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"| W4 8 writers racing on one stream | appends/s |", "| W4 8 writers racing on one stream | conflicts/s |",
		"| W5a load", "| W5b load", "| W9 bulk import"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestCheckStreamFails shows the contiguity check catches what it must.
func TestCheckStreamFails(t *testing.T) {
	ctx := context.Background()
	reader := func(versions ...uint64) streamReader {
		return func(context.Context, string) iter.Seq2[eventstore.RecordedEvent, error] {
			return func(yield func(eventstore.RecordedEvent, error) bool) {
				for i, v := range versions {
					e := eventstore.RecordedEvent{Version: v, Position: eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}}
					e.ID = eventstore.NewEventID()
					if !yield(e, nil) {
						return
					}
				}
			}
		}
	}
	if _, err := checkStream(ctx, reader(1, 2, 3), "s", 3); err != nil {
		t.Fatalf("a contiguous stream: %v", err)
	}
	if _, err := checkStream(ctx, reader(1, 2, 4), "s", 3); err == nil || !strings.Contains(err.Error(), "not contiguous") {
		t.Errorf("a gap: got %v", err)
	}
	if _, err := checkStream(ctx, reader(1, 2), "s", 3); err == nil || !strings.Contains(err.Error(), "want 3") {
		t.Errorf("a lost append: got %v", err)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []sample {
		var out []sample
		for _, x := range v {
			out = append(out, sample{n: 1, elapsed: time.Duration(x) * time.Millisecond})
		}
		return out
	}
	if st := summarize(ms(3, 1, 2), perUnitMS); st.median != 2 || st.min != 1 || st.max != 3 {
		t.Errorf("odd count: %+v", st)
	}
	if st := summarize(ms(4, 1, 2, 3), perUnitMS); st.median != 2.5 {
		t.Errorf("even count: median %v, want 2.5", st.median)
	}
	r := result{samples: map[string][]sample{chronicleVariant: ms(6), baselineVariant: ms(2)}}
	if x, ok := r.costRatio(); !ok || x != 3 {
		t.Errorf("cost ratio %v, %v; want 3", x, ok)
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick", "-workloads", "w1, W3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Out != "" || cfg.Runs != 2 || len(cfg.Workloads) != 2 || !cfg.selected("W3") || cfg.selected("W2") {
		t.Errorf("quick: %+v", cfg)
	}
	if cfg, err := parseFlags(nil); err != nil || cfg.Out != "docs/benchmarks.md" || cfg.Runs != 5 {
		t.Errorf("full: %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-schema", "x; DROP", "-runs", "-1", "-workloads", "W10"}); err == nil ||
		!strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), "runs") || !strings.Contains(err.Error(), "W10") {
		t.Errorf("bad flags: %v", err)
	}
	if got := commandLine([]string{"-postgres", "postgres://u:secret@h/db", "-quick"}); strings.Contains(got, "secret") {
		t.Errorf("command line shows the password: %s", got)
	}
}
