package aggregate

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

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

// Validate reports, as an [*InvalidSnapshotError], what keeps a store from
// keeping s: a Stream or Type that is empty, not UTF-8 or holds a NUL byte;
// a Version outside 1 to 2⁶³−1 (a snapshot covers at least one event); a
// SchemaVersion outside 1 to 2³¹−1.
func (s Snapshot) Validate() error {
	bad := func(field, reason string) error {
		return &InvalidSnapshotError{Stream: s.Stream, Field: field, Reason: reason}
	}
	text := func(field, v string) error {
		switch {
		case v == "":
			return bad(field, "is empty")
		case !utf8.ValidString(v):
			return bad(field, "is not valid UTF-8")
		case strings.IndexByte(v, 0) >= 0:
			return bad(field, "holds a NUL byte")
		}
		return nil
	}
	if err := text("Stream", s.Stream); err != nil {
		return err
	}
	if err := text("Type", s.Type); err != nil {
		return err
	}
	if s.Version == 0 || s.Version > math.MaxInt64 {
		return bad("Version", fmt.Sprintf("%d is outside 1 to %d", s.Version, int64(math.MaxInt64)))
	}
	if s.SchemaVersion < 1 || s.SchemaVersion > math.MaxInt32 {
		return bad("SchemaVersion", fmt.Sprintf("%d is outside 1 to %d", s.SchemaVersion, math.MaxInt32))
	}
	return nil
}

// Stored returns s as a [SnapshotStore] keeps it: CreatedAt in UTC,
// truncated to the microsecond (PostgreSQL's precision), or now (likewise)
// when it is zero; Data copied, and empty rather than nil.
func (s Snapshot) Stored(now time.Time) Snapshot {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.CreatedAt = s.CreatedAt.UTC().Truncate(time.Microsecond)
	s.Data = append([]byte{}, s.Data...)
	return s
}

// SnapshotStore keeps the latest snapshot of each stream.
//
// Implementations must be safe for concurrent use, and every one keeps the
// same rule, which [github.com/chronicle-go/chronicle/aggregate/snapshottest]
// checks:
//
//   - SaveSnapshot refuses a snapshot that does not pass
//     [Snapshot.Validate] with that [*InvalidSnapshotError], storing
//     nothing.
//   - It never lets an older snapshot replace a newer one: it keeps the
//     stored snapshot when that has a higher Version than the new one (a
//     snapshot of the same Version replaces it).
//   - LoadSnapshot finds nothing (false, no error) for a stream ID no
//     snapshot can have, and returns what was saved as [Snapshot.Stored]
//     makes it:
//     every field as given, except CreatedAt, which comes back in UTC to
//     the microsecond (the time of the save when it was zero), and an
//     empty Data, which comes back empty and not nil. Neither the saved
//     value nor a loaded one shares memory with the store.
//   - Both honour a cancelled context with its error.
//
// A snapshot is an optimisation; losing one costs a longer load, never a
// wrong one.
type SnapshotStore interface {
	// LoadSnapshot returns the stream's latest snapshot, and false if there
	// is none.
	LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error)
	// SaveSnapshot stores s unless a snapshot with a higher Version is
	// already stored for s.Stream; it refuses an invalid s with an
	// [*InvalidSnapshotError].
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
