package console

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
)

// Sentinel errors of the sources the console reads.
var (
	// ErrNotFound: no event, stream, saga instance or command of that ID.
	ErrNotFound = errors.New("console: not found")
	// ErrUnsupported: the source cannot answer this question (a store
	// without stream listing, a rebuild without the projection's code).
	ErrUnsupported = errors.New("console: not supported by this source")
)

// Index answers the questions about the log that [eventstore.Store] cannot
// answer quickly: listing streams, finding an event by ID, following a
// correlation ID, and the log's size and rate. The PostgreSQL source
// (console/postgres) answers them with indexed queries; [ScanIndex] answers
// them on any store with bounded scans of the most recent events.
//
// Implementations must be safe for concurrent use, bound every query (by
// its limit, and by the context's deadline, which the console always sets)
// and pass request input to the database only as parameters.
type Index interface {
	// Streams lists streams whose ID starts with q.Prefix and sorts after
	// q.After (byte order), at most q.Limit of them.
	Streams(ctx context.Context, q StreamQuery) ([]StreamInfo, error)
	// Event returns the event with the given ID, or an error matching
	// [ErrNotFound].
	Event(ctx context.Context, id uuid.UUID) (eventstore.RecordedEvent, error)
	// Correlated returns, in global order, the events whose correlation ID
	// is id, at most limit of them.
	Correlated(ctx context.Context, id string, limit int) (Found, error)
	// Stats describes the log: its head, its size and its recent rate.
	Stats(ctx context.Context) (LogStats, error)
}

// StreamQuery selects streams for [Index.Streams].
type StreamQuery struct {
	Prefix string
	After  string
	Limit  int
}

// StreamInfo is a stream's ID and current version.
type StreamInfo struct {
	ID      string
	Version uint64
}

// Found is the result of a search.
type Found struct {
	Events []eventstore.RecordedEvent
	// Partial is set when the search did not cover the whole log (Scanned
	// says how many of the most recent events it looked at), or stopped at
	// the limit.
	Partial bool
	Scanned int
}

// LogStats describes the log for the overview.
type LogStats struct {
	Head   eventstore.Position
	HeadAt time.Time
	// Tip is the last committed event; beyond Head while a transaction
	// still running (HeldBy, when the store can tell) holds the store's
	// horizon back (see [eventstore.HorizonReader]).
	Tip    eventstore.Position
	HeldBy *eventstore.HorizonHolder
	// Events and Streams count the log's events and streams; Estimated is
	// set when they are the database's estimates rather than exact counts.
	Events, Streams int64
	Estimated       bool
	// Rate is the number of events recorded in each of the last buckets,
	// oldest first, each BucketWidth long and the last ending at Now.
	Rate        []RateBucket
	BucketWidth time.Duration
	Now         time.Time
}

// RateBucket is one bar of the overview's sparkline.
type RateBucket struct {
	Start time.Time
	// Events recorded in the bucket. Known is false for buckets older than
	// the sample the rate was computed from.
	Events int
	Known  bool
}

// Projections is what the console reads about projections and the actions
// it offers. [*projection.Runner] implements it; so does the PostgreSQL
// source, from the checkpoint table (where Rebuild needs the application's
// runner).
type Projections interface {
	// Status returns every projection with its lag.
	Status(ctx context.Context) ([]projection.Status, error)
	// Skip moves a failed projection past its failed event; Retry makes it
	// try that event again.
	Skip(ctx context.Context, name string) error
	Retry(ctx context.Context, name string) error
	// Rebuild resets the projection and replays the log, reporting
	// progress; it returns when the replay is done. Sources that do not run
	// the projection's code return an error matching [ErrUnsupported].
	Rebuild(ctx context.Context, name string, opts projection.RebuildOptions) error
}

var _ Projections = (*projection.Runner[*projection.MemoryTx])(nil)

// Sagas is what the console reads about sagas. [Engines] adapts an
// application's engines; the PostgreSQL source reads the saga tables.
type Sagas interface {
	// Summaries returns every saga with its instances counted by status.
	Summaries(ctx context.Context) ([]SagaSummary, error)
	// Instances lists instances of one saga (see [saga.Query]).
	Instances(ctx context.Context, name string, q saga.Query) ([]saga.Instance, error)
	// History returns one instance's record, or an error matching
	// [saga.ErrNotFound].
	History(ctx context.Context, name, id string) (saga.History, error)
	// Parked lists the events a saga parked; FailingCommands its commands
	// whose sends keep failing.
	Parked(ctx context.Context, name string) ([]saga.Parked, error)
	FailingCommands(ctx context.Context, name string) ([]saga.Command, error)
	// Commands returns the outbox rows with the given IDs (the causation
	// IDs of events sent by sagas); IDs that are no command are absent.
	Commands(ctx context.Context, ids []uuid.UUID) ([]saga.Command, error)
}

// SagaRetrier is what a [Sagas] source offers when it can retry a parked
// event: it runs the saga's code, so it needs the application's engines
// ([saga.Engine.RetryParked]). The console offers the retry only then.
type SagaRetrier interface {
	// CanRetryParked reports whether the saga's parked events can be
	// retried here (the source has its engine).
	CanRetryParked(name string) bool
	// RetryParked handles the parked event again ([saga.Engine.RetryParked]).
	RetryParked(ctx context.Context, name string, eventID uuid.UUID) error
}

// SagaSummary is one saga on the overview.
type SagaSummary struct {
	Name   string
	Counts map[saga.Status]int
	// Parked counts its parked events, Failing its commands whose sends
	// failed and are being retried.
	Parked, Failing int
}

// Relays is what the console reads about relays, the processes that
// publish the log to a broker.
type Relays interface {
	Relays(ctx context.Context) ([]RelayStatus, error)
}

// RelayStatus is one relay on the overview.
type RelayStatus struct {
	Name string
	// Head is the log's head when the status was read.
	Head eventstore.Position
	// Published counts the messages the broker acknowledged.
	Published uint64
	// Position is the last event the broker acknowledged; LagEvents how
	// many events after it wait (LagAtLeast: at least that many), Lag how
	// long the oldest of them has waited.
	Position   eventstore.Position
	LagEvents  int
	LagAtLeast bool
	Lag        time.Duration
	// Owned tells whether a process relays now; Owner names it.
	Owned bool
	Owner string
	// Parked counts messages the broker refused for good.
	Parked    int
	LastError string
}
