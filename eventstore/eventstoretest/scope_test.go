package eventstoretest_test

import (
	"context"
	"errors"
	"iter"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// TestIdempotencyStreamScope runs the suite on a backend that, like
// KurrentDB, recognises event IDs within a stream only: the memory store
// under a wrapper that stores each event under an ID derived from its stream
// and its ID. Declared as IdempotencyStream, it passes: the cross-stream
// cases accept the new events it writes.
func TestIdempotencyStreamScope(t *testing.T) {
	eventstoretest.RunWithOptions(t, func(t *testing.T) eventstore.Store {
		s := memory.New(memory.Config{})
		t.Cleanup(func() { s.Close() })
		return &perStream{Store: s, orig: map[uuid.UUID]uuid.UUID{}}
	}, eventstoretest.Options{Idempotency: eventstoretest.IdempotencyStream, RaceRounds: 100, SubscribeEvents: 2000})
}

// perStream stores event ID id of stream as UUIDv5(id, stream), so the
// store below it sees the same ID in two streams as two IDs.
type perStream struct {
	*memory.Store
	mu   sync.Mutex
	orig map[uuid.UUID]uuid.UUID // stored ID → the caller's ID
}

func (s *perStream) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	mapped := make([]eventstore.Event, len(events))
	s.mu.Lock()
	for i, e := range events {
		if e.ID == uuid.Nil {
			e.ID = eventstore.NewEventID()
		}
		id := uuid.NewSHA1(e.ID, []byte(stream))
		s.orig[id] = e.ID
		e.ID = id
		mapped[i] = e
	}
	s.mu.Unlock()
	res, err := s.Store.Append(ctx, stream, expected, mapped...)
	if ce, ok := errors.AsType[*eventstore.ConflictError](err); ok && ce.EventID != uuid.Nil {
		ce.EventID = s.back(ce.EventID)
	}
	return res, err
}

func (s *perStream) back(id uuid.UUID) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orig[id]; ok {
		return o
	}
	return id
}

func (s *perStream) unmap(seq iter.Seq2[eventstore.RecordedEvent, error]) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		for e, err := range seq {
			if err == nil {
				e.ID = s.back(e.ID)
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

func (s *perStream) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.unmap(s.Store.ReadStream(ctx, stream, opts))
}

func (s *perStream) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.unmap(s.Store.ReadAll(ctx, opts))
}

func (s *perStream) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return s.unmap(s.Store.Subscribe(ctx, opts))
}
