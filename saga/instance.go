package saga

import (
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Status is where a saga instance is in its life.
type Status string

const (
	// Running: started, handling events.
	Running Status = "running"
	// Completed: ended successfully. Later events are recorded and ignored.
	Completed Status = "completed"
	// Compensating: failed (a failure event, a refused command or an
	// expired deadline); the compensating commands of its completed steps are queued,
	// newest step first, and not all sent yet.
	Compensating Status = "compensating"
	// Compensated: every compensating command has been sent. Final.
	Compensated Status = "compensated"
)

// Finished reports whether s no longer reacts to events: completed,
// compensating or compensated.
func (s Status) Finished() bool { return s != Running }

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Running, Completed, Compensating, Compensated:
		return true
	}
	return false
}

// Instance is the stored record of one saga instance.
type Instance struct {
	Saga string
	ID   string
	// Status is the instance's status; Reason says why it failed.
	Status Status
	Reason string
	// State is the encoded saga state (JSON by default).
	State []byte
	// Version counts the instance's writes: 1 after the first. A store
	// refuses a write whose expected version is not the stored one.
	Version int64
	// Steps lists the completed steps, oldest first: the ones compensated,
	// newest first, if the saga fails.
	Steps []string
	// Seq is the sequence number of the last command queued for the instance
	// (0 before the first). Command IDs derive from it.
	Seq int64
	// Position is the global position of the last event the instance
	// handled; an event at or before it is a duplicate delivery.
	Position  eventstore.Position
	StartedAt time.Time
	UpdatedAt time.Time
}

// Command is a row of the outbox: a command the saga decided to send,
// encoded, with its delivery status.
type Command struct {
	// ID is deterministic: [CommandID] of the saga, instance and Seq, so a
	// resend after a crash carries the same ID.
	ID       uuid.UUID
	Saga     string
	Instance string
	Seq      int64
	// Type is the command's registered type name, Data its encoded payload.
	Type string
	Data []byte
	// CausationID is the ID of the event (or the name of the deadline) the
	// command reacts to.
	CausationID string
	// Compensation is set on compensating commands; Step names the step
	// they undo.
	Compensation bool
	Step         string
	CreatedAt    time.Time
	// Attempts counts the dispatcher's tries; LastError is the last failure.
	Attempts    int
	LastError   string
	NextAttempt time.Time
	// SentAt is zero until the receiver answered: it accepted the command,
	// or, when Refused is set, refused it for good (LastError says why).
	SentAt  time.Time
	Refused bool
	// TraceParent and TraceState are the W3C trace context the command was
	// decided in (the handling of an event or a deadline); the dispatcher
	// continues it, so a saga's commands stay in the trace of the events
	// that caused them. Empty without one.
	TraceParent, TraceState string
}

// Sent reports whether the command was delivered: accepted, or refused.
func (c Command) Sent() bool { return !c.SentAt.IsZero() }

// Deadline is a timer of one saga instance, identified by its name.
type Deadline struct {
	Saga     string
	Instance string
	Name     string
	DueAt    time.Time
	// TraceParent and TraceState are the W3C trace context the deadline
	// was scheduled in; firing it continues that trace. Empty without one.
	TraceParent, TraceState string
}

// HistoryKind says what a [HistoryEntry] records.
type HistoryKind string

const (
	// EventHandled: an event ran the saga's handler; Detail lists what it
	// decided (steps done, commands sent, deadlines scheduled or cancelled).
	EventHandled HistoryKind = "event"
	// EventIgnored: an event arrived for a finished instance (late) and was
	// ignored.
	EventIgnored HistoryKind = "event-ignored"
	// EventParked: an event kept failing and was parked; see [Parked].
	EventParked HistoryKind = "event-parked"
	// DeadlineFired, DeadlineIgnored: a deadline fired (Detail: its name
	// and the decisions), or fired after the instance had finished.
	DeadlineFired   HistoryKind = "deadline-fired"
	DeadlineIgnored HistoryKind = "deadline-ignored"
	// StatusChanged: the instance moved to the status in Detail.
	StatusChanged HistoryKind = "status"
	// CommandRefused: the receiver refused a command for good; Detail
	// names it and the refusal. A running (or completed) instance fails
	// and compensates.
	CommandRefused HistoryKind = "command-refused"
)

// HistoryEntry is one line of an instance's history.
type HistoryEntry struct {
	Saga     string
	Instance string
	At       time.Time
	Kind     HistoryKind
	// EventID, EventType and Position are set for event entries.
	EventID   uuid.UUID
	EventType string
	Position  eventstore.Position
	// Detail: the step, deadline, command type or status, or a reason.
	Detail string
}

// Parked is an event the saga's handler kept failing on. The engine moved
// past it, so other instances are not held up, and keeps it here, with its
// error, for an operator.
type Parked struct {
	Saga      string
	Instance  string
	EventID   uuid.UUID
	EventType string
	StreamID  string
	Version   uint64
	Position  eventstore.Position
	Error     string
	Attempts  int
	ParkedAt  time.Time
}

// History is everything recorded about one instance.
type History struct {
	Instance Instance
	Entries  []HistoryEntry
	// Commands are the instance's outbox rows, by Seq, sent or not.
	Commands []Command
	// Deadlines are the pending timers.
	Deadlines []Deadline
	Parked    []Parked
}
