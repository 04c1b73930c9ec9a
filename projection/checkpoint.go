package projection

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

// State is a projection's life-cycle state as its checkpoint records it.
type State string

const (
	// Running: an owner applies events (or waits for new ones).
	Running State = "running"
	// Stopped: the last owner released the projection cleanly; the next
	// runner to claim it resumes from the checkpoint.
	Stopped State = "stopped"
	// Failed: a handler failed on the event in [Record.Failure] more than
	// the allowed number of times. The projection stays there until an
	// operator skips or retries the event, or rebuilds the projection.
	Failed State = "failed"
	// Rebuilding: the read model was reset and the log is being replayed.
	Rebuilding State = "rebuilding"
)

// Record is a projection's checkpoint as a [CheckpointStore] keeps it.
type Record struct {
	Name string
	// Checkpoint is the position of the last event handled (the zero
	// Position before the first).
	Checkpoint eventstore.Position
	// CheckpointAt is when the event at Checkpoint was recorded.
	CheckpointAt time.Time
	// Handled counts the events applied since the last reset.
	Handled uint64
	State   State
	// Failure is set while the projection is stopped at a failed event.
	Failure *Failure
	// LastError is the error of the most recent failure; it stays after the
	// failure is skipped or retried, until a rebuild.
	LastError string
	// Filter is what the projection subscribes to, so a process that does
	// not run it can still compute its lag.
	Filter eventstore.Filter
	// Owned reports whether a runner holds the projection now; Owner names
	// the last runner that claimed it.
	Owned bool
	Owner string
	// UpdatedAt is when the record last changed.
	UpdatedAt time.Time
}

// Failure is the event a projection is stopped at, and why.
type Failure struct {
	Position eventstore.Position
	EventID  uuid.UUID
	Stream   string
	Version  uint64
	Type     string
	// RecordedAt is when the failed event was recorded.
	RecordedAt time.Time
	// Error is the handler's last error, as text.
	Error    string
	Attempts int
	At       time.Time
}

// Advance describes a checkpoint move: the batch's last event and how many
// events the batch held.
type Advance struct {
	To     eventstore.Position
	At     time.Time
	Events int
}

// CheckpointStore keeps projections' checkpoints and hands out ownership of
// them; Tx is the unit of work handlers write through. [MemoryStore] keeps
// everything in memory; the PostgreSQL package keeps checkpoints in a table
// beside the read models, so both commit in one transaction.
//
// Implementations must be safe for concurrent use.
type CheckpointStore[Tx any] interface {
	// Claim makes the caller the projection's only owner, creating its
	// record if needed, and blocks until it is (a standby waits here) or
	// ctx ends. filter is stored with the record.
	Claim(ctx context.Context, name string, filter eventstore.Filter) (Claim[Tx], error)
	// Records returns every projection's record, sorted by name.
	Records(ctx context.Context) ([]Record, error)
	// Skip moves a failed projection past its failed event and sets it
	// running; Retry sets it running at the same checkpoint, so the event is
	// tried again. (A store may set a projection that failed during a
	// rebuild back to [Rebuilding] instead, when the rebuild must finish to
	// take effect, as a blue/green one in PostgreSQL must.) Both fail with [ErrNotFailed] unless the projection is
	// [Failed], and with [ErrUnknownProjection] for an unknown name.
	Skip(ctx context.Context, name string) error
	Retry(ctx context.Context, name string) error
}

// Claim is one runner's ownership of one projection. Every write is fenced:
// it names the checkpoint the caller believes current and fails with
// [ErrFenced], writing nothing, if the stored one differs. A claim is used by
// one goroutine at a time.
type Claim[Tx any] interface {
	// Record reads the projection's record.
	Record(ctx context.Context) (Record, error)
	// Commit runs apply in one unit of work together with moving the
	// checkpoint from from to adv.To: both happen, or neither. An error
	// from apply is returned as is, with nothing written.
	Commit(ctx context.Context, from eventstore.Position, adv Advance, apply func(ctx context.Context, tx Tx) error) error
	// Fail records that the projection is stopped at f (state [Failed]).
	Fail(ctx context.Context, from eventstore.Position, f Failure) error
	// Reset runs reset and sets the checkpoint to the start, the handled
	// count to zero and the state to [Rebuilding], in one unit of work.
	Reset(ctx context.Context, from eventstore.Position, reset func(ctx context.Context, tx Tx) error) error
	// SetState changes the state (for example from [Rebuilding] to
	// [Running]).
	SetState(ctx context.Context, from eventstore.Position, s State) error
	// Lost is closed when the ownership has ended behind the caller's back
	// (nil if that cannot happen). Writes then fail with [ErrClaimLost].
	Lost() <-chan struct{}
	// Release gives the projection up, marking a running one [Stopped].
	Release(ctx context.Context) error
}
