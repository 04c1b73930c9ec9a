package batch_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/batch"
)

func TestSubscribeKeepsOrderAndSize(t *testing.T) {
	store := memory.New(memory.Config{})
	for i := range 1000 {
		if _, err := store.Append(context.Background(), fmt.Sprintf("s-%d", i%3), eventstore.Any,
			eventstore.NewEvent([]string{"A", "B"}[i%2], []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := eventstore.SubscribeOptions{From: eventstore.Position{Commit: 10, Prepare: 10}, Filter: eventstore.Filter{EventTypes: []string{"A"}}}
	var got []eventstore.RecordedEvent
	for b, err := range batch.Subscribe(ctx, store, opts, 64) {
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 || len(b) > 64 {
			t.Fatalf("batch of %d", len(b))
		}
		got = append(got, b...)
		if len(got) >= 495 {
			break
		}
	}
	if len(got) != 495 {
		t.Fatalf("%d events, want 495", len(got))
	}
	for i, e := range got {
		// Type A is at log indexes 0, 2, 4...: positions 1, 3, 5...; after 10 the first is 11.
		if want := uint64(11 + 2*i); e.Position.Commit != want || e.Type != "A" {
			t.Fatalf("event %d at %v type %s, want position %d type A", i, e.Position, e.Type, want)
		}
	}
}

// EndWithTheContext is the race d553e37 fixed: the reader goroutine may see
// the cancellation first and close its channel, which the consumer must not
// take for the end of the sequence. One run in a few hundred hit it, so the
// test runs many.
func TestSubscribeEndsWithTheContext(t *testing.T) {
	store := memory.New(memory.Config{})
	if _, err := store.Append(context.Background(), "s", eventstore.Any, eventstore.NewEvent("A", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	for run := range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		var last error
		for b, err := range batch.Subscribe(ctx, store, eventstore.SubscribeOptions{}, 10) {
			if err != nil {
				last = err
				continue
			}
			n += len(b)
			cancel() // the live wait ends with the context
		}
		cancel()
		if n != 1 || last != context.Canceled {
			t.Fatalf("run %d: n=%d err=%v, want 1 event then context.Canceled", run, n, last)
		}
	}
}

// A finite sequence cut short by a cancellation ends with the context's
// cause, never as if it had run out.
func TestOfEndsWithTheCause(t *testing.T) {
	stop := errors.New("lease lost")
	for run := range 500 {
		ctx, cancel := context.WithCancelCause(context.Background())
		open := func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return func(yield func(eventstore.RecordedEvent, error) bool) {
				for i := range 100 {
					if i == 3 {
						cancel(stop)
					}
					if ctx.Err() != nil {
						return // a producer that ends quietly on cancellation
					}
					if !yield(eventstore.RecordedEvent{Position: eventstore.Position{Commit: uint64(i + 1)}}, nil) {
						return
					}
				}
			}
		}
		var last error
		for _, err := range batch.Of(ctx, open, 2) {
			if err != nil {
				last = err
			}
		}
		if last != stop {
			t.Fatalf("run %d: ended with %v, want the cause %v", run, last, stop)
		}
	}
}

// An error of the sequence comes after every event before it, and ends the
// sequence; a finite sequence ends without an error.
func TestOfYieldsTheEventsBeforeAnError(t *testing.T) {
	boom := errors.New("boom")
	events := func(n int, end error) func(context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
		return func(context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return func(yield func(eventstore.RecordedEvent, error) bool) {
				for i := range n {
					if !yield(eventstore.RecordedEvent{Position: eventstore.Position{Commit: uint64(i + 1)}}, nil) {
						return
					}
				}
				if end != nil {
					yield(eventstore.RecordedEvent{}, end)
				}
			}
		}
	}
	for _, size := range []int{0, 1, 3, 7, 100} {
		for _, end := range []error{nil, boom} {
			var got []uint64
			var errs []error
			for b, err := range batch.Of(context.Background(), events(7, end), size) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if len(b) > max(size, 1) {
					t.Fatalf("size %d: batch of %d", size, len(b))
				}
				for _, e := range b {
					got = append(got, e.Position.Commit)
				}
			}
			if fmt.Sprint(got) != "[1 2 3 4 5 6 7]" {
				t.Fatalf("size %d, end %v: events %v", size, end, got)
			}
			if (end == nil && len(errs) != 0) || (end != nil && (len(errs) != 1 || errs[0] != end)) {
				t.Fatalf("size %d, end %v: errors %v", size, end, errs)
			}
		}
	}
}

// Stopping the range ends the reader goroutine, also when it is blocked in
// the sequence.
func TestOfStopsTheReader(t *testing.T) {
	ended := make(chan struct{})
	open := func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
		return func(yield func(eventstore.RecordedEvent, error) bool) {
			defer close(ended)
			if !yield(eventstore.RecordedEvent{}, nil) {
				return
			}
			<-ctx.Done() // blocked, like a live subscription waiting
		}
	}
	for range batch.Of(context.Background(), open, 10) {
		break
	}
	select {
	case <-ended:
	default:
		t.Fatal("the reader goroutine outlived the range")
	}
}
