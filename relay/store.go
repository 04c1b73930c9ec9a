package relay

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Record is a relay's state as its [Store] keeps it.
type Record struct {
	Name string
	// Checkpoint is the position of the last event whose message the
	// broker acknowledged (or that was skipped or parked), with every one
	// before it; CheckpointAt is when that event was recorded.
	Checkpoint   eventstore.Position
	CheckpointAt time.Time
	// Published counts the messages the broker acknowledged that the
	// checkpoint has passed, each once (a parked message retried with
	// success counts then).
	Published uint64
	// Parked counts the parked messages waiting for an operator.
	Parked int
	// Filter is the relay's subscription filter, so a process that does
	// not run it can compute its lag.
	Filter eventstore.Filter
	// Owned reports whether a relay holds it now; Owner names the last
	// owner.
	Owned bool
	Owner string
	// LastError is the most recent publishing error ("" after a success).
	LastError string
	UpdatedAt time.Time
}

// ParkedState is where a parked message stands.
type ParkedState string

const (
	// StateParked: waiting for an operator.
	StateParked ParkedState = "parked"
	// StateRetry: an operator asked for it to be published again; the
	// relay's owner does so.
	StateRetry ParkedState = "retry"
)

// ParkedKind says what a [Parked] entry holds.
type ParkedKind string

const (
	// KindMessage: a message the broker refused for good, or an event the
	// mapping failed on. Retrying publishes Message again.
	KindMessage ParkedKind = "message"
	// KindUnreadable: an event the store could not return (an
	// [*eventstore.UnreadableEventError]). Message holds only what the
	// store's error named: ID (the event ID), Type, Subject (the stream),
	// StreamVersion and Position. Retrying reads the event again, by its
	// stream and version, and publishes it like any event if it reads now.
	KindUnreadable ParkedKind = "unreadable"
)

// Parked is a message the broker refused for good, an event the mapping
// failed on (then Message holds only what the event gave), or an event the
// store could not return (see [KindUnreadable]).
type Parked struct {
	Relay string
	// Kind is what was parked; a store returns [KindMessage] for an entry
	// parked with none.
	Kind    ParkedKind
	Message broker.Message
	// Position is the event's position in the log.
	Position eventstore.Position
	Error    string
	State    ParkedState
	// Attempts counts the publications tried (for [KindUnreadable], the
	// reads).
	Attempts int
	ParkedAt time.Time
}

// Store keeps relays' checkpoints and parked messages and hands out
// ownership. Implementations must be safe for concurrent use.
type Store interface {
	// Claim makes the caller the relay's only owner, creating its record
	// if needed, and blocks until it is (a standby waits here) or ctx
	// ends. filter is stored with the record.
	Claim(ctx context.Context, name string, filter eventstore.Filter) (Claim, error)
	// Records returns every relay's record, sorted by name.
	Records(ctx context.Context) ([]Record, error)
	// Parked lists the relay's parked messages by position.
	Parked(ctx context.Context, name string) ([]Parked, error)
	// Retry marks a parked message (every one when id is "") to be
	// published again by the relay's owner; Skip forgets it. Both return
	// how many they changed, and fail with [ErrUnknownRelay] for an
	// unknown relay.
	Retry(ctx context.Context, name, id string) (int, error)
	Skip(ctx context.Context, name, id string) (int, error)
}

// Claim is one owner's hold on one relay. Checkpoint writes are fenced:
// they name the checkpoint the owner believes current and fail with
// [ErrFenced], writing nothing, if the stored one differs. A claim is used
// by one goroutine at a time.
type Claim interface {
	// Record reads the relay's record.
	Record(ctx context.Context) (Record, error)
	// Advance moves the checkpoint from from to to (recorded at at), adds
	// published to the count, clears the last error and parks parked, all
	// in one write.
	Advance(ctx context.Context, from, to eventstore.Position, at time.Time, published int, parked []Parked) error
	// Failed records the last error.
	Failed(ctx context.Context, msg string) error
	// Retries returns the parked messages an operator asked to publish
	// again.
	Retries(ctx context.Context) ([]Parked, error)
	// Resolve settles a retried message: published (err nil: it is
	// forgotten and counted), refused again (parked with err), or still
	// failing transiently (left to retry).
	Resolve(ctx context.Context, id string, err error) error
	// Lost is closed when the ownership ended behind the caller's back (nil
	// if that cannot happen).
	Lost() <-chan struct{}
	// Release gives the relay up.
	Release(ctx context.Context) error
}
