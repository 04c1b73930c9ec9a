package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Command is a request to change the system, routed by the dynamic type of
// its Payload to one handler.
type Command struct {
	// ID identifies the command. Callers that may send a command more than
	// once (a saga's outbox, a client retrying a request) set it themselves,
	// deterministically; with [Idempotent], the same ID is applied at most
	// once. A zero ID is replaced by a new UUID v7 on Send.
	ID uuid.UUID
	// CorrelationID ties the command and the events it causes to the
	// original request; with [Metadata] it flows into every event. Empty
	// means the command starts its own chain: its ID is used.
	CorrelationID string
	// Payload is the command itself, a value (or a pointer to a value) of a
	// type registered with [HandleFunc] or [Handle].
	Payload any
}

// New returns a command with a new UUID v7 as its ID.
func New(payload any) Command {
	return Command{ID: eventstore.NewEventID(), Payload: payload}
}

// DeriveID returns a deterministic command ID: the UUID v5 of parts (joined
// by a NUL byte) in chronicle's command namespace. A saga derives the ID of
// each command it sends from (saga instance, step), so sending it again after
// a crash carries the same ID and, with [Idempotent], applies it only once.
func DeriveID(parts ...string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(strings.Join(parts, "\x00")))
}

// namespace is the UUID v5 namespace of [DeriveID].
var namespace = uuid.MustParse("6b1f4c0e-3a53-4d7e-9a0c-5e0c8f1b2d47")

// String returns the command's type and ID, for logs.
func (c Command) String() string {
	return fmt.Sprintf("%s %s", TypeName(c.Payload), c.ID)
}

type commandKey struct{}

// FromContext returns the command being handled, for a typed handler that
// needs the envelope (its ID or correlation ID).
func FromContext(ctx context.Context) (Command, bool) {
	c, ok := ctx.Value(commandKey{}).(Command)
	return c, ok
}
