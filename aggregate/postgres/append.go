package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
)

// AppendWithSnapshot implements [aggregate.AtomicSnapshotStore]: it appends
// events with the paired event store's AppendTx and upserts snap in the same
// transaction. A refused append (a version conflict, a stored event ID)
// writes neither. When the event store asks for a new transaction (a
// [*eventstore.ConflictError] with Retry set), it runs the transaction again,
// up to [Config.Attempts] times. After the commit it wakes the event store's
// live subscriptions.
func (s *SnapshotStore) AppendWithSnapshot(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.Event, snap aggregate.Snapshot) (eventstore.AppendResult, error) {
	es := s.cfg.EventStore
	if es == nil {
		return eventstore.AppendResult{}, errors.New("snapshots: AppendWithSnapshot: no paired event store (Config.EventStore)")
	}
	if snap.Stream != stream {
		return eventstore.AppendResult{}, fmt.Errorf("snapshots: AppendWithSnapshot: snapshot of %q with an append to %q", snap.Stream, stream)
	}
	// Event IDs are fixed once, so a transaction that runs again is the same
	// append (and an append that committed before a lost reply is an
	// idempotent retry).
	events = append([]eventstore.Event(nil), events...)
	for i := range events {
		if events[i].ID == [16]byte{} {
			events[i].ID = eventstore.NewEventID()
		}
	}
	var last error
	for range s.cfg.Attempts {
		res, err := s.appendOnce(ctx, stream, expected, events, snap)
		if err == nil {
			es.NotifyAppended()
			return res, nil
		}
		if ce, ok := errors.AsType[*eventstore.ConflictError](err); ok && ce.Retry && ctx.Err() == nil {
			last = err
			continue
		}
		return eventstore.AppendResult{}, err
	}
	return eventstore.AppendResult{}, last
}

func (s *SnapshotStore) appendOnce(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.Event, snap aggregate.Snapshot) (eventstore.AppendResult, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("snapshots: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	res, err := s.cfg.EventStore.AppendTx(ctx, tx, stream, expected, events...)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.SaveTx(ctx, tx, snap); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("snapshots: commit the append to %q: %w", stream, err)
	}
	return res, nil
}
