package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
)

// Commands between processes.
//
// In one process the sagas send commands straight through the command bus.
// When a service runs in another process, the command travels through the
// event store instead: the sender appends it to the service's inbox stream
// ("inbox-<service>-<key>") as a message whose event ID is the command's
// ID, and the service's process consumes its inbox with a projection runner
// (checkpointed; one owner at a time through the checkpoint store's lock)
// that hands each command to its local bus with the same ID. Delivery is at
// least once, and the bus's idempotency makes the effect exactly once.

// InboxPrefix is the stream prefix of a service's inbox.
func InboxPrefix(service Role) string { return "inbox-" + string(service) + "-" }

// inboxStreams spreads a service's inbox over this many streams (by the
// command's correlation), so concurrent senders rarely contend on one.
const inboxStreams = 16

// Consumer runs until its context ends.
type Consumer interface {
	Run(ctx context.Context) error
}

// router sends a command through the local bus when a local service
// handles it, or to the owning service's inbox otherwise.
type router struct {
	bus      *command.Bus
	store    eventstore.Store
	commands *eventstore.Registry
	owner    map[string]Role // command type name → service
}

var _ saga.Sender = (*router)(nil)

func (r *router) Send(ctx context.Context, cmd command.Command) error {
	if r.bus.Handles(cmd.Payload) {
		_, err := r.bus.Send(ctx, cmd)
		return err
	}
	ev, err := r.commands.Encode(cmd.Payload, eventstore.Metadata{CorrelationID: cmd.CorrelationID})
	if err != nil {
		return err
	}
	service, ok := r.owner[ev.Type]
	if !ok {
		return fmt.Errorf("scenario: no service owns command %s", ev.Type)
	}
	ev.ID = cmd.ID
	key := 0
	for _, c := range []byte(cmd.CorrelationID) {
		key = (key*31 + int(c)) % inboxStreams
	}
	stream := fmt.Sprintf("%s%02d", InboxPrefix(service), key)
	_, err = r.store.Append(ctx, stream, eventstore.Any, ev)
	if errors.Is(err, eventstore.ErrDuplicateEventID) {
		return nil // sent before: the inbox holds it once
	}
	return err
}

// deliver hands one inbox message to the local bus.
func (r *router) deliver(ctx context.Context, e eventstore.RecordedEvent) error {
	payload, err := r.commands.Decode(e)
	if err != nil {
		return err
	}
	// The command continues the trace of its sender, in whatever process.
	ctx = projection.ContinueTrace(ctx, e)
	_, err = r.bus.Send(ctx, command.Command{ID: e.ID, CorrelationID: e.Metadata.CorrelationID, Payload: payload})
	return err
}

// Send sends a command from this process: see the router above.
func (a *App) Send(ctx context.Context, cmd command.Command) error {
	return a.router.Send(ctx, cmd)
}

// NewInbox returns the consumer of one service's inbox on store, keeping
// its checkpoint in cps: backends build their Inbox with it.
func NewInbox[Tx any](store eventstore.Store, cps projection.CheckpointStore[Tx], name, prefix string, types []string,
	handle func(context.Context, eventstore.RecordedEvent) error, cfg projection.Config) (Consumer, error) {
	p := projection.New[Tx](name, nil)
	p.StreamPrefixes(prefix)
	for _, t := range types {
		p.Handle(t, projection.HandlerFunc[Tx](func(ctx context.Context, _ Tx, e eventstore.RecordedEvent) error {
			return handle(ctx, e)
		}))
	}
	// A command that keeps failing (a conflict storm across processes) is
	// retried for a long while before the inbox stops at it.
	cfg.MaxAttempts = max(cfg.MaxAttempts, 50)
	cfg.MaxBackoff = max(cfg.MaxBackoff, time.Second)
	return projection.NewRunner(store, cps, cfg, p)
}
