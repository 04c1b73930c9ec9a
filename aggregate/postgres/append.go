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
// up to [Config.Attempts] times. It commits with the event store's
// CommitTx (eventstore/postgres), so that a commit whose reply was lost is reported
// as stored, as not stored, or as an [*eventstore.OutcomeUnknownError]
// (retry with the same events), never as a plain cancellation; after the
// commit it wakes the event store's live subscriptions.
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
			return res, nil // CommitTx woke the subscriptions
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
	// CommitTx tells a commit whose reply was lost from one that failed
	// (and says when it cannot): a plain cancellation must mean "not
	// stored".
	if err := s.cfg.EventStore.CommitTx(ctx, tx, res); err != nil {
		if eventstore.IsOutcomeUnknown(err) {
			return eventstore.AppendResult{}, err
		}
		return eventstore.AppendResult{}, fmt.Errorf("snapshots: commit the append to %q: %w", stream, err)
	}
	return res, nil
}
