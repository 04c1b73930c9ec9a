// Package unreadable is a test double of a store's read for tests of the
// subscribers (projections, sagas, the relay): it wraps an
// [eventstore.Store] and makes ReadStream, ReadAll and Subscribe fail on
// chosen events with an [*eventstore.UnreadableEventError], as the
// PostgreSQL store does for a stored payload it cannot print, after
// yielding every event before them. Appends pass through.
package unreadable

import (
	"context"
	"errors"
	"iter"
	"sync"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Cause is the error the injected [*eventstore.UnreadableEventError]s wrap.
var Cause = errors.New("out of memory (SQLSTATE 54000)")

// Store wraps an event store; see the package documentation.
type Store struct {
	eventstore.Store

	mu     sync.Mutex
	poison map[eventstore.Position]int // position → failures left (-1: forever)
	hits   map[eventstore.Position]int
}

// Wrap returns store with no unreadable event yet.
func Wrap(store eventstore.Store) *Store {
	return &Store{Store: store, poison: map[eventstore.Position]int{}, hits: map[eventstore.Position]int{}}
}

// Poison makes the event at p unreadable for the next n reads that reach
// it (forever for n < 0).
func (s *Store) Poison(p eventstore.Position, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poison[p] = n
}

// Hits returns how many reads failed at p.
func (s *Store) Hits(p eventstore.Position) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[p]
}

// fail reports whether a read reaching e must fail, counting it.
func (s *Store) fail(e eventstore.RecordedEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.poison[e.Position]
	if !ok || n == 0 {
		return nil
	}
	if n > 0 {
		s.poison[e.Position] = n - 1
	}
	s.hits[e.Position]++
	return &eventstore.UnreadableEventError{Position: e.Position, Stream: e.StreamID, Version: e.Version,
		EventID: e.ID, Type: e.Type, Err: Cause}
}

func (s *Store) wrap(seq iter.Seq2[eventstore.RecordedEvent, error]) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		for e, err := range seq {
			if err == nil {
				if ferr := s.fail(e); ferr != nil {
					yield(eventstore.RecordedEvent{}, ferr)
					return
				}
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// ReadStream implements [eventstore.Store].
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.wrap(s.Store.ReadStream(ctx, stream, opts))
}

// ReadAll implements [eventstore.Store].
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.wrap(s.Store.ReadAll(ctx, opts))
}

// Subscribe implements [eventstore.Store].
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.wrap(s.Store.Subscribe(ctx, opts))
}
