package command_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// lostReply is a memory store whose first append answers with an unknown
// outcome, as a PostgreSQL append does when its reply is lost and the
// store cannot find out what happened: after storing the events (stored)
// or without (not stored).
type lostReply struct {
	*memory.Store
	stored bool
	cancel context.CancelFunc // called before answering, when set
	done   atomic.Bool
}

func (s *lostReply) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if s.done.Swap(true) {
		return s.Store.Append(ctx, stream, expected, events...)
	}
	ids := make([][16]byte, len(events))
	if s.stored {
		if _, err := s.Store.Append(ctx, stream, expected, events...); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	for i, e := range events {
		ids[i] = e.ID
	}
	if s.cancel != nil {
		s.cancel()
	}
	ou := &eventstore.OutcomeUnknownError{Stream: stream, Expected: expected, Err: errors.New("reply lost")}
	for _, id := range ids {
		ou.EventIDs = append(ou.EventIDs, id)
	}
	return eventstore.AppendResult{}, ou
}

func countBus(t *testing.T, store eventstore.Store, runs *atomic.Int32, mw ...command.Middleware) *command.Bus {
	repo := newTallies(store, nil, 0)
	bus := newBus(t, command.Config{Middleware: mw})
	command.MustHandleFunc(bus, func(ctx context.Context, c Count) error {
		runs.Add(1)
		tally, err := repo.LoadOrNew(ctx, c.TallyID)
		if err != nil {
			return err
		}
		_ = tally.Add(c.N)
		_, err = repo.Save(ctx, tally)
		return err
	})
	return bus
}

// With Idempotent on the bus, an unknown outcome is run again with the same
// event IDs: stored or not the first time, the command's event is stored
// exactly once and the send succeeds.
func TestUnknownOutcomeRunAgainWithTheSameIDs(t *testing.T) {
	for _, stored := range []bool{true, false} {
		t.Run(map[bool]string{true: "Stored", false: "NotStored"}[stored], func(t *testing.T) {
			mem := memory.New(memory.Config{})
			store := &lostReply{Store: mem, stored: stored}
			var runs atomic.Int32
			bus := countBus(t, store, &runs, command.Metadata(), command.Idempotent(),
				command.RetryConflicts(command.RetryConfig{BaseDelay: time.Microsecond}))
			res, err := bus.Send(t.Context(), command.New(Count{TallyID: "t", N: 1}))
			if err != nil {
				t.Fatal(err)
			}
			if runs.Load() != 2 || mem.Len() != 1 || len(res.Appended) != 1 || res.Appended[0].To != 1 || res.Replayed != stored {
				t.Fatalf("runs %d, %d events, result %+v; want 2 runs, 1 event, replayed %v", runs.Load(), mem.Len(), res, stored)
			}
		})
	}
}

// Without Idempotent, the event IDs of a second run would be new ones: the
// unknown outcome is returned, not retried, and not as a cancellation.
func TestUnknownOutcomeWithoutIdempotencyIsReturned(t *testing.T) {
	mem := memory.New(memory.Config{})
	var runs atomic.Int32
	bus := countBus(t, &lostReply{Store: mem, stored: true}, &runs, command.Metadata(),
		command.RetryConflicts(command.RetryConfig{BaseDelay: time.Microsecond}))
	_, err := bus.Send(t.Context(), command.New(Count{TallyID: "t", N: 1}))
	if !eventstore.IsOutcomeUnknown(err) || runs.Load() != 1 || mem.Len() != 1 {
		t.Fatalf("Send = %v after %d runs (%d events); want the unknown outcome after 1 run", err, runs.Load(), mem.Len())
	}
}

// When the context ends with the outcome unknown, the send says so: not a
// cancellation, which a caller would read as "nothing happened"; sending
// the command again with its ID then applies it once.
func TestUnknownOutcomeAfterTheContextEnded(t *testing.T) {
	mem := memory.New(memory.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	var runs atomic.Int32
	bus := countBus(t, &lostReply{Store: mem, stored: true, cancel: cancel}, &runs, command.DefaultMiddleware(nil)...)
	cmd := command.New(Count{TallyID: "t", N: 1})
	_, err := bus.Send(ctx, cmd)
	if !eventstore.IsOutcomeUnknown(err) || errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v; want an unknown outcome that is not a cancellation", err)
	}
	res, err := bus.Send(t.Context(), cmd)
	if err != nil || !res.Replayed || mem.Len() != 1 {
		t.Fatalf("the re-send: %+v, %v (%d events); want a replay of the one event", res, err, mem.Len())
	}
}
