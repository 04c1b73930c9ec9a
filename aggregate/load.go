package aggregate

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/google/uuid"

	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Load returns the aggregate with the given ID: from its latest usable
// snapshot, if any, then the events after it. An aggregate without events
// is a [*NotFoundError]; use [Repository.LoadOrNew] to start one.
//
// A snapshot is usable when it was written by this aggregate type with this
// repository's [Config.SnapshotSchema] and decodes; any other snapshot is
// ignored (with a warning in the log) and the aggregate is loaded from all
// of its events.
//
// Inside a seeded [Unit], Load fails with an [*AlreadyAppliedError] if the
// events it reads include the unit's command's events.
func (r *Repository[T]) Load(ctx context.Context, id string) (T, error) {
	a, err := r.load(ctx, id)
	if err != nil {
		var zero T
		return zero, err
	}
	if a.root().version == 0 {
		var zero T
		return zero, &NotFoundError{Type: r.cfg.Type, ID: id, Stream: r.cfg.StreamID(id)}
	}
	return a, nil
}

// LoadOrNew is [Repository.Load] that returns a new aggregate at version 0
// (as [Repository.New] does) when the aggregate has no events.
func (r *Repository[T]) LoadOrNew(ctx context.Context, id string) (T, error) {
	return r.load(ctx, id)
}

func (r *Repository[T]) load(ctx context.Context, id string) (T, error) {
	ctx, span := r.tracer.Start(ctx, r.spans[0], trace.SpanKindInternal)
	a, err := r.loadEvents(ctx, id)
	if span.IsRecording() {
		var version, snapshot uint64
		if err == nil {
			version, snapshot = a.root().version, a.root().snapshotAt
		}
		span.SetAttributes(telemetry.KeyAggregateType.String(r.cfg.Type), telemetry.KeyAggregateID.String(id),
			telemetry.KeyStream.String(r.cfg.StreamID(id)), telemetry.KeyStreamVersion.Int64(int64(version)),
			telemetry.KeyEventsRead.Int64(int64(version-snapshot)), telemetry.KeySnapshotUsed.Bool(snapshot > 0))
		if snapshot > 0 {
			span.SetAttributes(telemetry.KeySnapshotVersion.Int64(int64(snapshot)))
		}
	}
	telemetry.End(span, err)
	return a, err
}

func (r *Repository[T]) loadEvents(ctx context.Context, id string) (T, error) {
	var zero T
	if id == "" {
		return zero, fmt.Errorf("%w: empty ID for %s", ErrInvalidID, r.cfg.Type)
	}
	stream := r.cfg.StreamID(id)
	a, from := r.fromSnapshot(ctx, stream)
	root := a.root()
	root.id = id
	root.version = from
	root.snapshotAt = from

	unit := UnitFrom(ctx)
	var seen appliedMatcher
	// A seeded unit checks the events read for the command's own, unless
	// the command itself saved to this stream already (a handler that
	// reloads what it saved).
	seeded := unit != nil && unit.Seed != uuid.Nil && !unit.savedTo(stream)
	if seeded {
		seen.start(unit.Seed, stream)
	}
	for e, err := range r.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from + 1}) {
		if err != nil {
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				if from > 0 {
					r.cfg.Logger.WarnContext(ctx, "aggregate: snapshot of a stream without events ignored",
						"type", r.cfg.Type, "stream", stream, "snapshot_version", from)
				}
				fresh := r.cfg.New()
				fresh.root().id = id
				return fresh, nil
			}
			return zero, fmt.Errorf("aggregate: load %s %q: %w", r.cfg.Type, id, err)
		}
		v, err := r.registry.Decode(e)
		if err != nil {
			return zero, fmt.Errorf("aggregate: load %s %q: %w", r.cfg.Type, id, err)
		}
		a.Apply(v)
		root.version = e.Version
		if seeded {
			seen.see(e)
		}
	}
	if seeded {
		if seen.found() {
			return zero, &AlreadyAppliedError{Seed: unit.Seed, Appended: seen.result}
		}
		if from > 0 {
			unit.hide(hiddenHistory{stream: stream, snapshot: from, window: r.cfg.ReplayWindow, read: r.readStream(stream)})
		}
	}
	return a, nil
}

// readStream reads stream forwards from a version.
func (r *Repository[T]) readStream(stream string) func(context.Context, uint64) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(ctx context.Context, from uint64) iter.Seq2[eventstore.RecordedEvent, error] {
		return r.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from})
	}
}

// fromSnapshot returns an aggregate restored from the stream's snapshot and
// the snapshot's version, or a new aggregate and 0.
func (r *Repository[T]) fromSnapshot(ctx context.Context, stream string) (T, uint64) {
	if r.cfg.Snapshots == nil {
		return r.cfg.New(), 0
	}
	log := r.cfg.Logger.With("type", r.cfg.Type, "stream", stream)
	s, ok, err := r.cfg.Snapshots.LoadSnapshot(ctx, stream)
	switch {
	case err != nil:
		log.WarnContext(ctx, "aggregate: snapshot not readable, loading from events", "error", err)
		return r.cfg.New(), 0
	case !ok:
		return r.cfg.New(), 0
	case s.Type != r.cfg.Type:
		log.WarnContext(ctx, "aggregate: snapshot of another aggregate type ignored", "snapshot_type", s.Type)
		return r.cfg.New(), 0
	case s.SchemaVersion != r.cfg.SnapshotSchema:
		log.InfoContext(ctx, "aggregate: snapshot of another schema version ignored, loading from events",
			"snapshot_schema", s.SchemaVersion, "schema", r.cfg.SnapshotSchema)
		return r.cfg.New(), 0
	case s.Version == 0:
		return r.cfg.New(), 0
	}
	a := r.cfg.New()
	if err := r.cfg.SnapshotCodec.Unmarshal(s.Data, a); err != nil {
		log.WarnContext(ctx, "aggregate: snapshot does not decode, loading from events", "error", err)
		return r.cfg.New(), 0
	}
	return a, s.Version
}
