package saga

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Store is everything a saga [Engine] runs on: the instances' state and the
// engine's place in the log ([StateStore]), the outbox of commands to send
// and deadlines to fire ([Outbox]), and the operators' queries
// ([Inspector]). [saga/memory] and [saga/postgres] implement it; both pass
// [saga/sagatest].
//
// Whoever needs only a part asks for that part: the command-line tool
// reads saga tables through an [Inspector]. A backend implements the three
// over one storage, because a [StateStore.Commit] writes the outbox rows
// and deadlines that the [Outbox] then hands out, and the [Inspector]
// reads them all.
//
// Implementations must be safe for concurrent use by several engines (in one
// or several processes).
type Store interface {
	StateStore
	Outbox
	Inspector
}

// StateStore keeps saga instances and the engine's checkpoint, and
// commits what one engine step decided. It must guarantee:
//   - [StateStore.Commit] is atomic: all of it or nothing.
//   - An instance write whose expected version is not the stored one (or
//     0 for an instance that exists) fails with a [*ConflictError], as does a
//     fired deadline that is no longer stored with the same due time.
//   - A checkpoint write whose lease token is not the latest fails with
//     [ErrLeaseLost].
type StateStore interface {
	// Load returns the stored instances of saga among ids; missing IDs are
	// absent from the map.
	Load(ctx context.Context, saga string, ids []string) (map[string]Instance, error)
	// Commit writes c in one transaction.
	Commit(ctx context.Context, c Commit) error
	// Checkpoint returns the position after which the engine of saga
	// resumes; [eventstore.Start] if it never committed one.
	Checkpoint(ctx context.Context, saga string) (eventstore.Position, error)
	// Acquire blocks until the caller owns the event subscription of saga,
	// or ctx ends. Taking the lease fences every earlier holder.
	Acquire(ctx context.Context, saga string) (Lease, error)
}

// Outbox hands out the work that commits left behind: commands to send and
// deadlines to fire. Reservations ([Outbox.ReserveCommands],
// [Outbox.ReserveDeadlines]) never hand the same unexpired row to two
// callers, and hand out only the oldest unsent command of an instance, so
// an instance's commands are sent in order.
type Outbox interface {
	// ReserveCommands reserves up to limit due, unsent commands of saga
	// until now+reserveFor: for each instance only its oldest unsent command, and only
	// if its NextAttempt is due. Attempts is incremented.
	ReserveCommands(ctx context.Context, saga string, now time.Time, reserveFor time.Duration, limit int) ([]Command, error)
	// MarkSent records commands as sent at now. An instance that is
	// [Compensating] and has no unsent command left becomes [Compensated],
	// in the same transaction, with a history entry.
	MarkSent(ctx context.Context, saga string, ids []uuid.UUID, now time.Time) error
	// MarkFailed records a failed send: the error, and when to retry. The
	// lease is released.
	MarkFailed(ctx context.Context, saga string, id uuid.UUID, sendErr string, retryAt time.Time) error
	// ReserveDeadlines reserves up to limit deadlines of saga due at or
	// before now, until now+reserveFor.
	ReserveDeadlines(ctx context.Context, saga string, now time.Time, reserveFor time.Duration, limit int) ([]Deadline, error)
}

// Inspector answers an operator's questions about a saga's instances, its
// parked events and its failing sends. It only reads.
type Inspector interface {
	// Instances lists instances of saga, oldest ID first, per q.
	Instances(ctx context.Context, saga string, q Query) ([]Instance, error)
	// Count returns how many instances of saga are in each status.
	Count(ctx context.Context, saga string) (map[Status]int, error)
	// History returns everything recorded about one instance, or an error
	// matching [ErrNotFound].
	History(ctx context.Context, saga, id string) (History, error)
	// ParkedEvents lists the parked events of saga, oldest first.
	ParkedEvents(ctx context.Context, saga string) ([]Parked, error)
	// FailingCommands lists unsent commands of saga that failed at least
	// once: sends being retried.
	FailingCommands(ctx context.Context, saga string) ([]Command, error)
}

// Lease is the ownership of a saga's event subscription.
type Lease interface {
	// Token fences checkpoint writes: a commit made with an older token
	// fails with [ErrLeaseLost].
	Token() int64
	// Lost is closed when the store detects the lease is gone (its
	// connection died); commits with the token then fail.
	Lost() <-chan struct{}
	// Release gives the lease up.
	Release(ctx context.Context) error
}

// Query selects instances for [Inspector.Instances].
type Query struct {
	// Status, if set, keeps instances with that status.
	Status Status
	// After, if set, keeps instances whose ID sorts after it (paging).
	After string
	// Limit caps the result; 0 means 100.
	Limit int
}

// Commit is what one engine step writes atomically.
type Commit struct {
	Saga string
	// Instances are the new records with the versions they were loaded at.
	Instances []InstanceWrite
	// Commands are new outbox rows.
	Commands []Command
	// Fired is applied first, then Cancel, then Schedule.
	// Cancel removes deadlines. A key with an empty
	// Name removes all of the instance's deadlines.
	Cancel []Deadline
	// Schedule inserts or replaces deadlines by (instance, name).
	Schedule []Deadline
	// Fired removes deadlines that fired; each must still be stored with
	// the same DueAt, otherwise the commit fails with a [*ConflictError].
	Fired   []Deadline
	History []HistoryEntry
	// Unparked removes the parked events with these IDs, before Parked is
	// written (so a retried event that fails again is parked anew). Each
	// must still be parked, otherwise the commit fails with a
	// [*ConflictError]: of two operators retrying one event, one wins.
	Unparked []uuid.UUID
	Parked   []Parked
	// Refused settles outbox commands that their receiver refused for good
	// ([command.IsRefused]): each is marked sent at At, refused, with
	// Error as its last error, and is never reserved again. Each must still
	// be unsent, otherwise the commit fails with a [*ConflictError].
	Refused []RefusedCommand
	// Checkpoint, if set, moves the saga's checkpoint; fenced by its token.
	Checkpoint *CheckpointWrite
}

// IsZero reports whether c writes nothing.
func (c Commit) IsZero() bool {
	return len(c.Instances) == 0 && len(c.Commands) == 0 && len(c.Cancel) == 0 && len(c.Schedule) == 0 &&
		len(c.Fired) == 0 && len(c.History) == 0 && len(c.Unparked) == 0 && len(c.Parked) == 0 && len(c.Refused) == 0 &&
		c.Checkpoint == nil
}

// RefusedCommand is an outbox command its receiver refused, for
// [Commit].Refused.
type RefusedCommand struct {
	ID    uuid.UUID
	Error string
	At    time.Time
}

// InstanceWrite is an instance to store if its stored version is still
// Expected (0: it must not exist yet). The stored version becomes
// Expected+1, whatever Instance.Version says.
type InstanceWrite struct {
	Instance Instance
	Expected int64
}

// CheckpointWrite moves a checkpoint under a lease.
type CheckpointWrite struct {
	Position eventstore.Position
	Token    int64
}
