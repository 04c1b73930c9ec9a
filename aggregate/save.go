package aggregate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"

	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Save appends the events recorded on a since it was loaded, expecting the
// stream to be exactly at the version a was loaded at
// ([eventstore.Exact]). If another writer got there first, Save returns the
// store's [*eventstore.ConflictError] (errors.Is
// [eventstore.ErrConcurrencyConflict]) and a is unchanged: reload it and run
// the command again (the command bus's retry middleware does this).
//
// On success the events are no longer uncommitted, a's version is the
// stream's new version, and, if the snapshot policy says so, a snapshot of a
// is stored — in the same transaction as the events when the snapshot store
// is an [AtomicSnapshotStore] paired with this repository's event store,
// otherwise right after (a snapshot that fails to save is logged, not
// returned: the events are stored).
//
// Saving an aggregate with nothing recorded does nothing and returns a zero
// [Appended] for its stream.
//
// Inside a [Unit], events carry the unit's metadata and, when it is
// seeded, deterministic IDs; a save whose IDs the store already holds
// elsewhere in the stream fails with an [*AlreadyAppliedError].
func (r *Repository[T]) Save(ctx context.Context, a T) (Appended, error) {
	ctx, span := r.tracer.Start(ctx, r.spans[1], trace.SpanKindInternal)
	recording := span.IsRecording()
	if recording {
		var id string
		var events int
		if v := reflect.ValueOf(a); v.IsValid() && !(v.Kind() == reflect.Pointer && v.IsNil()) {
			id, events = a.root().id, len(a.root().uncommitted)
		}
		span.SetAttributes(telemetry.KeyAggregateType.String(r.cfg.Type), telemetry.KeyAggregateID.String(id),
			telemetry.KeyEventCount.Int(events))
	}
	out, err := r.save(ctx, a)
	if recording {
		span.SetAttributes(telemetry.KeyStream.String(out.Stream), telemetry.KeyStreamVersion.Int64(int64(out.To)),
			telemetry.KeyOutcome.String(telemetry.Outcome(err)))
		if k := telemetry.ConflictKind(err); k != "" {
			span.SetAttributes(telemetry.KeyConflictKind.String(k))
		}
	}
	telemetry.End(span, err)
	return out, err
}

func (r *Repository[T]) save(ctx context.Context, a T) (Appended, error) {
	if v := reflect.ValueOf(a); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return Appended{}, fmt.Errorf("aggregate: save %s: nil aggregate", r.cfg.Type)
	}
	root := a.root()
	if root.id == "" {
		return Appended{}, fmt.Errorf("%w: save %s: the aggregate has no ID; create it with Repository.New or load it", ErrInvalidID, r.cfg.Type)
	}
	stream := r.cfg.StreamID(root.id)
	if len(root.uncommitted) == 0 {
		return Appended{Stream: stream}, nil
	}
	unit := UnitFrom(ctx)
	var md eventstore.Metadata
	if unit != nil {
		md = unit.Metadata
	}
	ids := unit.nextIDs(stream, len(root.uncommitted))
	events := make([]eventstore.Event, len(root.uncommitted))
	for i, v := range root.uncommitted {
		e, err := r.registry.Encode(v, md.Clone())
		if err != nil {
			unit.undoIDs(stream, len(ids))
			return Appended{}, fmt.Errorf("aggregate: save %s %q: event %d: %w", r.cfg.Type, root.id, i, err)
		}
		if ids != nil {
			e.ID = ids[i]
		}
		events[i] = e
	}
	expected := eventstore.Exact(root.version)
	to := root.version + uint64(len(events))

	snap, wantSnap := r.snapshot(ctx, stream, a, to)
	var (
		res eventstore.AppendResult
		err error
	)
	if wantSnap && r.atomic != nil {
		res, err = r.atomic.AppendWithSnapshot(ctx, stream, expected, events, snap)
	} else {
		res, err = r.store.Append(ctx, stream, expected, events...)
	}
	if err != nil {
		unit.undoIDs(stream, len(ids))
		if ids != nil {
			if applied := r.alreadyApplied(ctx, unit, stream, err); applied != nil {
				return Appended{}, applied
			}
		}
		return Appended{}, fmt.Errorf("aggregate: save %s %q: %w", r.cfg.Type, root.id, err)
	}
	if wantSnap && r.atomic == nil {
		if err := r.cfg.Snapshots.SaveSnapshot(ctx, snap); err != nil {
			r.cfg.Logger.WarnContext(ctx, "aggregate: snapshot not saved", "type", r.cfg.Type, "stream", stream, "version", to, "error", err)
		}
	}
	if wantSnap {
		root.snapshotAt = to
	}
	out := Appended{Stream: stream, From: res.Version - uint64(len(events)) + 1, To: res.Version, Positions: slices.Clone(res.Positions)}
	out.EventIDs = make([]uuid.UUID, len(events))
	for i, e := range events {
		out.EventIDs[i] = e.ID
	}
	root.version = res.Version
	root.uncommitted = nil
	unit.record(out)
	return out, nil
}

// snapshot encodes a as the snapshot of stream at version to, when the
// policy asks for one.
func (r *Repository[T]) snapshot(ctx context.Context, stream string, a T, to uint64) (Snapshot, bool) {
	if r.cfg.Snapshots == nil {
		return Snapshot{}, false
	}
	root := a.root()
	if !r.cfg.SnapshotPolicy(SnapshotDecision{Stream: stream, From: root.version, To: to, LastSnapshot: root.snapshotAt}) {
		return Snapshot{}, false
	}
	data, err := r.cfg.SnapshotCodec.Marshal(a)
	if err != nil {
		r.cfg.Logger.WarnContext(ctx, "aggregate: snapshot does not encode, skipped", "type", r.cfg.Type, "stream", stream, "error", err)
		return Snapshot{}, false
	}
	return Snapshot{Stream: stream, Type: r.cfg.Type, Version: to, SchemaVersion: r.cfg.SnapshotSchema,
		Data: data, CreatedAt: time.Now().UTC()}, true
}

// alreadyApplied turns a store's refusal of the unit's deterministic event
// IDs into an [*AlreadyAppliedError] describing where they are stored.
func (r *Repository[T]) alreadyApplied(ctx context.Context, unit *Unit, stream string, err error) *AlreadyAppliedError {
	if !errors.Is(err, eventstore.ErrConcurrencyConflict) || !errors.Is(err, eventstore.ErrDuplicateEventID) {
		return nil
	}
	var m appliedMatcher
	m.start(unit.Seed, stream)
	for e, rerr := range r.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if rerr != nil {
			return nil
		}
		if m.see(e) {
			break
		}
	}
	if !m.found() {
		return nil
	}
	return &AlreadyAppliedError{Seed: unit.Seed, Appended: m.result}
}
