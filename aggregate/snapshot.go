package aggregate

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Snapshot is an aggregate's encoded state at a version of its stream.
type Snapshot struct {
	// Stream is the aggregate's stream ID.
	Stream string
	// Type is the aggregate type ([Config.Type]) that wrote it.
	Type string
	// Version is the stream version the state includes: loading resumes with
	// the event at Version+1.
	Version uint64
	// SchemaVersion is the version of the encoded state's shape
	// ([Config.SnapshotSchema]). A repository ignores a snapshot whose
	// schema version is not its own.
	SchemaVersion int
	// Data is the encoded state.
	Data []byte
	// CreatedAt is when the snapshot was taken (UTC).
	CreatedAt time.Time
}

// SnapshotStore keeps the latest snapshot of each stream.
//
// Implementations must be safe for concurrent use and must never let an
// older snapshot replace a newer one: SaveSnapshot keeps the stored snapshot
// when it has a higher Version than the new one. A snapshot is an
// optimisation; losing one costs a longer load, never a wrong one.
type SnapshotStore interface {
	// LoadSnapshot returns the stream's latest snapshot, and false if there
	// is none.
	LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error)
	// SaveSnapshot stores s unless a snapshot with a higher Version is
	// already stored for s.Stream.
	SaveSnapshot(ctx context.Context, s Snapshot) error
}

// AtomicSnapshotStore is an optional capability of a [SnapshotStore]: it can
// append events to its paired event store and write a snapshot in one
// transaction, so the snapshot exists exactly when its events do. A
// [Repository] discovers it by type assertion and uses it when the store it
// was given is the paired one ([AtomicSnapshotStore.EventStore]).
//
// The PostgreSQL snapshot store in
// [github.com/chronicle-go/chronicle/aggregate/postgres] implements it.
type AtomicSnapshotStore interface {
	SnapshotStore
	// EventStore returns the event store whose appends can share a
	// transaction with this snapshot store.
	EventStore() eventstore.Store
	// AppendWithSnapshot appends events to stream like
	// [eventstore.Store.Append] and, in the same transaction, stores s (with
	// the rule of SaveSnapshot). Either both happen or neither does.
	AppendWithSnapshot(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.Event, s Snapshot) (eventstore.AppendResult, error)
}

// SnapshotDecision is what a [SnapshotPolicy] decides on.
type SnapshotDecision struct {
	// Stream is the aggregate's stream.
	Stream string
	// From is the aggregate's version before the save; To after it.
	From, To uint64
	// LastSnapshot is the version of the snapshot the aggregate was loaded
	// from or last saved with, 0 if none.
	LastSnapshot uint64
}

// SnapshotPolicy decides, at each save, whether to store a snapshot of the
// aggregate's state after it.
type SnapshotPolicy func(SnapshotDecision) bool

// EveryN snapshots whenever a save crosses a multiple of n events: with
// n=100 a stream gets snapshots near versions 100, 200, 300 …, so loading it
// reads fewer than n events plus one save's worth. n < 1 never snapshots.
func EveryN(n uint64) SnapshotPolicy {
	return func(d SnapshotDecision) bool {
		return n > 0 && d.To/n != d.From/n
	}
}
