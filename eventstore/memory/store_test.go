package memory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func newStore(t *testing.T) eventstore.Store {
	s := memory.New(memory.Config{})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	eventstoretest.Run(t, newStore)
}

// The suite again with small limits: the bad-input cases build their
// stream IDs and events just over the limits the store is given.
func TestConformanceSmallLimits(t *testing.T) {
	limits := eventstore.Limits{MaxStreamIDLength: 40, MaxTypeLength: 24, MaxEventSize: 2048, MaxAppendEvents: 1000}
	eventstoretest.RunWithOptions(t, func(t *testing.T) eventstore.Store {
		s := memory.New(memory.Config{Limits: limits})
		t.Cleanup(func() { s.Close() })
		return s
	}, eventstoretest.Options{Limits: limits, RaceRounds: 100, SubscribeEvents: 2000})
}

func TestCloseEndsSubscriptions(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.Config{})
	if _, err := s.Append(ctx, "order-1", eventstore.NoStream, eventstore.NewEvent("Placed", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	// Two subscribers wait for new events; a third has not started ranging.
	ends := make(chan error, 2)
	received := make(chan struct{}, 2)
	for range 2 {
		go func() {
			for _, err := range s.Subscribe(ctx, eventstore.SubscribeOptions{}) {
				if err != nil {
					ends <- err
					return
				}
				received <- struct{}{}
			}
			ends <- errors.New("the subscription ended without an error")
		}()
	}
	<-received
	<-received
	later := s.Subscribe(ctx, eventstore.SubscribeOptions{})

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-ends; !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("a waiting subscription ended with %v, want ErrClosed", err)
		}
	}
	for _, err := range later {
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("a subscription started after Close yielded %v, want ErrClosed", err)
		}
		break
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}

	// Every later call fails with ErrClosed.
	if _, err := s.Append(ctx, "order-2", eventstore.Any, eventstore.NewEvent("Placed", []byte(`{}`))); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	for name, seq := range map[string]func(func(eventstore.RecordedEvent, error) bool){
		"ReadStream": s.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{}),
		"ReadAll":    s.ReadAll(ctx, eventstore.ReadAllOptions{}),
	} {
		n := 0
		for _, err := range seq {
			n++
			if !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("%s after Close yielded %v, want ErrClosed", name, err)
			}
		}
		if n != 1 {
			t.Errorf("%s after Close yielded %d items, want one error", name, n)
		}
	}
	if _, err := s.Streams(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Streams after Close: %v, want ErrClosed", err)
	}
}

// A subscriber that stops consuming holds nothing the writers need: they
// finish, and the subscriber later receives every event in order.
func TestSlowSubscriberDoesNotBlockWriters(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.Config{})
	defer s.Close()
	const writers, perWriter = 4, 5000

	release := make(chan struct{})
	got := make(chan []eventstore.RecordedEvent, 1)
	first := make(chan struct{})
	go func() {
		var evs []eventstore.RecordedEvent
		for e, err := range s.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			if err != nil {
				break
			}
			evs = append(evs, e)
			if len(evs) == 1 {
				close(first)
				<-release // stuck in the loop body: the slowest subscriber there is
			}
			if len(evs) == writers*perWriter+1 {
				break
			}
		}
		got <- evs
	}()
	if _, err := s.Append(ctx, "start", eventstore.NoStream, eventstore.NewEvent("Start", nil)); err != nil {
		t.Fatal(err)
	}
	<-first

	var wg sync.WaitGroup
	errs := make([]error, writers) // each writer writes only its own slot
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				e := eventstore.NewEvent("Written", fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i))
				if _, err := s.Append(ctx, fmt.Sprintf("writer-%d", w), eventstore.Exact(uint64(i)), e); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait() // would never return if a writer waited for the subscriber
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != writers*perWriter+1 {
		t.Fatalf("Len() = %d, want %d", n, writers*perWriter+1)
	}

	close(release)
	evs := <-got
	if len(evs) != writers*perWriter+1 {
		t.Fatalf("the slow subscriber received %d events, want %d", len(evs), writers*perWriter+1)
	}
	next := map[string]uint64{}
	for i, e := range evs {
		if e.Position != (eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}) {
			t.Fatalf("event %d has position %v", i, e.Position)
		}
		next[e.StreamID]++
		if e.Version != next[e.StreamID] {
			t.Fatalf("stream %s: version %d, want %d", e.StreamID, e.Version, next[e.StreamID])
		}
	}
}

func TestStreams(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.Config{})
	defer s.Close()
	infos, err := s.Streams(ctx)
	if err != nil || len(infos) != 0 {
		t.Fatalf("Streams of an empty store = %v, %v", infos, err)
	}
	for stream, n := range map[string]int{"order-2": 3, "order-10": 1, "cart-1": 2, "Ünïcode": 1} {
		for range n {
			if _, err := s.Append(ctx, stream, eventstore.Any, eventstore.NewEvent("E", nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A refused append creates no stream.
	if _, err := s.Append(ctx, "refused", eventstore.StreamExists, eventstore.NewEvent("E", nil)); !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("Append with StreamExists to a new stream: %v", err)
	}
	infos, err = s.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []memory.StreamInfo{{ID: "cart-1", Version: 2}, {ID: "order-10", Version: 1}, {ID: "order-2", Version: 3}, {ID: "Ünïcode", Version: 1}}
	if !slices.Equal(infos, want) {
		t.Fatalf("Streams() = %v, want %v", infos, want)
	}
	if s.Len() != 7 {
		t.Fatalf("Len() = %d, want 7", s.Len())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Streams(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Streams with a cancelled context: %v", err)
	}
}

func TestConfigNow(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	s := memory.New(memory.Config{Now: func() time.Time { return at }})
	defer s.Close()
	if _, err := s.Append(t.Context(), "order-1", eventstore.NoStream, eventstore.NewEvent("Placed", nil)); err != nil {
		t.Fatal(err)
	}
	for e, err := range s.ReadStream(t.Context(), "order-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 3, 1, 11, 30, 45, 123456000, time.UTC) // UTC, microseconds
		if !e.RecordedAt.Equal(want) || e.RecordedAt.Location() != time.UTC {
			t.Fatalf("RecordedAt = %v, want %v", e.RecordedAt, want)
		}
	}
}

func TestNilExpectedVersion(t *testing.T) {
	s := memory.New(memory.Config{})
	defer s.Close()
	if _, err := s.Append(t.Context(), "order-1", nil, eventstore.NewEvent("Placed", nil)); err == nil {
		t.Fatal("Append with a nil expected version succeeded")
	}
	if s.Len() != 0 {
		t.Fatalf("Len() = %d after a refused append", s.Len())
	}
}

// What reads return shares the store's copy, but one event's payload can
// never run into another's: appending to a returned payload must not
// change the next event.
func TestReadPayloadsAreCapped(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.Config{})
	defer s.Close()
	if _, err := s.Append(ctx, "order-1", eventstore.NoStream,
		eventstore.NewEvent("A", []byte(`{"a":1}`)), eventstore.NewEvent("B", []byte(`{"b":2}`))); err != nil {
		t.Fatal(err)
	}
	for e, err := range s.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		_ = append(e.Data, `XXXXXXX`...)
	}
	for e, err := range s.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{From: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Data) != `{"b":2}` {
			t.Fatalf("second payload = %s", e.Data)
		}
	}
}
