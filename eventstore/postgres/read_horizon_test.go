package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/postgres"
)

// ReadAll takes a horizon with its first page and reads the pages after it
// below that horizon while they come back full; it takes a fresh one only
// when a page comes back short. Events committed while the read runs, and
// a transaction that appended before them and commits later, must still
// arrive: none skipped, none out of order, the late transaction's events
// before those committed behind it.
func TestReadAllKeepsItsHorizonAcrossPages(t *testing.T) {
	// HorizonWait: the read must wait for A (it commits after 300 ms), and
	// the test server is shared: other sessions hold the horizon now and
	// then.
	s, pool, _ := newStoreConfig(t, postgres.Config{PollInterval: 20 * time.Millisecond, PageSize: 3, HorizonWait: 30 * time.Second})
	ctx := t.Context()
	const base = 10
	for i := range base {
		if _, err := s.Append(ctx, "base", eventstore.Exact(uint64(i)), eventstore.NewEvent("Base", nil)); err != nil {
			t.Fatal(err)
		}
	}
	var got []eventstore.RecordedEvent
	committed := make(chan error, 1)
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
		if len(got) != 1 {
			continue
		}
		// After the first page: A appends and stays open, B appends
		// behind it and commits, C commits; A commits 300 ms later.
		txA, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer txA.Rollback(context.Background())
		if _, err := s.AppendTx(ctx, txA, "a", eventstore.NoStream, eventstore.NewEvent("A", nil)); err != nil {
			t.Fatal(err)
		}
		for _, stream := range []string{"b", "c"} {
			if _, err := s.Append(ctx, stream, eventstore.NoStream, eventstore.NewEvent("Late", nil)); err != nil {
				t.Fatal(err)
			}
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			committed <- txA.Commit(context.Background())
		}()
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	var streams []string
	for i, e := range got {
		streams = append(streams, e.StreamID)
		if i > 0 && !got[i-1].Position.Before(e.Position) {
			t.Fatalf("event %d at %v after %v: out of order", i, e.Position, got[i-1].Position)
		}
	}
	want := fmt.Sprint(append(repeat("base", base), "a", "b", "c"))
	if fmt.Sprint(streams) != want {
		t.Fatalf("read %v, want %s", streams, want)
	}

	// Backwards, the pages after the first read below its horizon too:
	// an event appended during the read is not among them.
	got = got[:0]
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
		if len(got) == 1 {
			if _, err := s.Append(ctx, "d", eventstore.NoStream, eventstore.NewEvent("Late", nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != base+3 {
		t.Fatalf("read %d events backwards, want %d", len(got), base+3)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].Position.Before(got[i-1].Position) {
			t.Fatalf("backwards: event %d at %v after %v", i, got[i].Position, got[i-1].Position)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// Subscribe keeps the horizon of a page across the full pages of a
// catch-up as ReadAll does, filter and all: a transaction that appended
// mid-catch-up and commits later is delivered before the events committed
// behind it, and nothing is skipped.
func TestSubscribeKeepsItsHorizonAcrossPages(t *testing.T) {
	s, pool, _ := newStoreConfig(t, postgres.Config{PollInterval: 20 * time.Millisecond, PageSize: 3})
	// A subscription that skipped A would wait for it for ever.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const base = 10
	for i := range base {
		// Noise between the events the filter passes: pages of 3 cover
		// fewer events than they scan.
		if _, err := s.Append(ctx, "noise", eventstore.Any, eventstore.NewEvent("Noise", nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "base", eventstore.Exact(uint64(i)), eventstore.NewEvent("Base", nil)); err != nil {
			t.Fatal(err)
		}
	}
	committed := make(chan error, 1)
	var streams []string
	var prev eventstore.Position
	filter := eventstore.Filter{EventTypes: []string{"Base", "A", "Late"}}
	for e, err := range s.Subscribe(ctx, eventstore.SubscribeOptions{Filter: filter}) {
		if err != nil {
			t.Fatalf("after %v: %v", streams, err)
		}
		if len(streams) > 0 && !prev.Before(e.Position) {
			t.Fatalf("event %d at %v after %v: out of order", len(streams), e.Position, prev)
		}
		prev = e.Position
		streams = append(streams, e.StreamID)
		if len(streams) == 1 {
			txA, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer txA.Rollback(context.Background())
			if _, err := s.AppendTx(ctx, txA, "a", eventstore.NoStream, eventstore.NewEvent("A", nil)); err != nil {
				t.Fatal(err)
			}
			for _, stream := range []string{"b", "c"} {
				if _, err := s.Append(ctx, "noise", eventstore.Any, eventstore.NewEvent("Noise", nil)); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Append(ctx, stream, eventstore.NoStream, eventstore.NewEvent("Late", nil)); err != nil {
					t.Fatal(err)
				}
			}
			go func() {
				time.Sleep(300 * time.Millisecond)
				committed <- txA.Commit(context.Background())
			}()
		}
		if len(streams) == base+3 {
			break
		}
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(append(repeat("base", base), "a", "b", "c"))
	if fmt.Sprint(streams) != want {
		t.Fatalf("delivered %v, want %s", streams, want)
	}
}
