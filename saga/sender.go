package saga

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/command"
)

// Sender delivers a command from the outbox. Implementations must be
// idempotent by command ID: the dispatcher sends again, with the same ID,
// whenever it cannot know that an earlier send succeeded (a crash between
// the send and its bookkeeping). A *[command.Bus] with the
// [command.Idempotent] middleware, wrapped by [BusSender], is one.
type Sender interface {
	Send(ctx context.Context, cmd command.Command) error
}

// SenderFunc adapts a function to a [Sender].
type SenderFunc func(ctx context.Context, cmd command.Command) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, cmd command.Command) error { return f(ctx, cmd) }

// BusSender sends through a command bus.
func BusSender(bus *command.Bus) Sender {
	return SenderFunc(func(ctx context.Context, cmd command.Command) error {
		_, err := bus.Send(ctx, cmd)
		return err
	})
}

// CommandID returns the deterministic ID of the seq-th command of a saga
// instance: [command.DeriveID] of the saga name, the instance ID and seq.
func CommandID(saga, instance string, seq int64) uuid.UUID {
	return command.DeriveID("saga", saga, instance, strconv.FormatInt(seq, 10))
}
