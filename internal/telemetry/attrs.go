package telemetry

import (
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"

	"github.com/chronicle-go/chronicle/eventstore"
)

// chronicle's attribute keys, for what the semantic conventions have no
// name for. docs/observability.md lists them.
const (
	KeyStream          = attribute.Key("chronicle.stream")
	KeyEventCount      = attribute.Key("chronicle.event.count")
	KeyEventType       = attribute.Key("chronicle.event.type")
	KeyEventID         = attribute.Key("chronicle.event.id")
	KeyPosition        = attribute.Key("chronicle.position")
	KeyPositionFrom    = attribute.Key("chronicle.position.from")
	KeyPositionTo      = attribute.Key("chronicle.position.to")
	KeyExpectedVersion = attribute.Key("chronicle.expected_version")
	KeyStreamVersion   = attribute.Key("chronicle.stream.version")
	KeyOutcome         = attribute.Key("chronicle.outcome")
	KeyConflictKind    = attribute.Key("chronicle.conflict.kind")
	KeyOperation       = attribute.Key("chronicle.operation")

	KeyCommandType     = attribute.Key("chronicle.command.type")
	KeyCommandID       = attribute.Key("chronicle.command.id")
	KeyCommandAttempts = attribute.Key("chronicle.command.attempts")
	KeyCorrelationID   = attribute.Key("chronicle.correlation_id")

	KeyAggregateType   = attribute.Key("chronicle.aggregate.type")
	KeyAggregateID     = attribute.Key("chronicle.aggregate.id")
	KeyEventsRead      = attribute.Key("chronicle.events.read")
	KeySnapshotUsed    = attribute.Key("chronicle.snapshot.used")
	KeySnapshotVersion = attribute.Key("chronicle.snapshot.version")

	KeyProjection = attribute.Key("chronicle.projection")

	KeySaga         = attribute.Key("chronicle.saga")
	KeySagaInstance = attribute.Key("chronicle.saga.instance")
	KeySagaStatus   = attribute.Key("chronicle.saga.status")
	KeySagaStep     = attribute.Key("chronicle.saga.step")
	KeyCompensation = attribute.Key("chronicle.saga.compensation")
	KeyDeadline     = attribute.Key("chronicle.saga.deadline")

	KeyRelay = attribute.Key("chronicle.relay")
	KeyInbox = attribute.Key("chronicle.inbox")
)

// Outcomes, the values of [KeyOutcome].
const (
	OutcomeOK       = "ok"
	OutcomeConflict = "conflict"
	OutcomeRefused  = "refused"
	OutcomeError    = "error"
)

// Conflict kinds, the values of [KeyConflictKind].
const (
	// ConflictVersion: the stream was not at the expected version.
	ConflictVersion = "version"
	// ConflictEventID: an event ID is stored elsewhere.
	ConflictEventID = "event_id"
	// ConflictRetry: a transient conflict (the PostgreSQL per-stream order
	// guard, a concurrent insert) that a new attempt may pass.
	ConflictRetry = "retry"
)

// ConflictKind returns the kind of the [eventstore.ConflictError] in err's
// chain, or "" if there is none.
func ConflictKind(err error) string {
	if err == nil {
		return ""
	}
	return conflictKind(err)
}

// conflictKind is ConflictKind apart, so that a nil error does not pay for
// the conflict's pointer escaping to the heap.
func conflictKind(err error) string {
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) {
		return ""
	}
	switch {
	case ce.Retry:
		return ConflictRetry
	case errors.Is(ce, eventstore.ErrDuplicateEventID):
		return ConflictEventID
	}
	return ConflictVersion
}

// Outcome returns the outcome of an operation that ended with err.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case ConflictKind(err) != "":
		return OutcomeConflict
	}
	return OutcomeError
}

// Expected formats an expected version for [KeyExpectedVersion]: "any",
// "no_stream", "stream_exists", or the exact version.
func Expected(v eventstore.ExpectedVersion) string {
	switch e := v.(type) {
	case eventstore.AnyVersion:
		return "any"
	case eventstore.NoStreamVersion:
		return "no_stream"
	case eventstore.StreamExistsVersion:
		return "stream_exists"
	case eventstore.ExactVersion:
		return strconv.FormatUint(uint64(e), 10)
	}
	return "unknown"
}
