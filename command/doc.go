// Package command is chronicle's command bus: it routes each [Command], by
// the Go type of its payload, to the one handler registered for it, through
// middleware.
//
// # Use
//
//	bus, err := command.NewBus(command.Config{Middleware: command.DefaultMiddleware(logger)})
//	...
//	command.MustHandleFunc(bus, func(ctx context.Context, c PlaceOrder) error {
//		o, err := orders.LoadOrNew(ctx, c.OrderID)
//		if err != nil {
//			return err
//		}
//		if err := o.Place(c.Items); err != nil {
//			return err
//		}
//		_, err = orders.Save(ctx, o)
//		return err
//	})
//	res, err := bus.Send(ctx, command.New(PlaceOrder{OrderID: "42"}))
//
// Registration is typed: [HandleFunc] takes a function of the payload,
// [Handle] a [Handler] of the whole command, as net/http's HandleFunc and
// Handle do; a second handler for the
// same command type fails with [ErrDuplicateHandler] at start-up, and a
// command without a handler fails with [ErrNoHandler]. Handlers are
// [Handler]s ([HandlerFunc] adapts a function); [Middleware] wraps them, in
// the manner of net/http.
//
// # Commands and IDs
//
// A [Command] carries an ID (a UUID), a correlation ID and the payload.
// [New] gives a fresh UUID v7; callers that may send a command twice (a
// saga's outbox, an HTTP client retrying) give their own deterministic ID,
// for instance with [DeriveID] from (saga instance, step).
//
// # Middleware
//
//   - [Logging]: one slog record per command.
//   - [Validate]: refuses a command whose payload's Validate method (see
//     [Validator]) or a given check fails, with a [*ValidationError].
//   - [Metadata]: the command's ID becomes the causation ID of every event
//     its handler saves, and its correlation ID flows into them.
//   - [Idempotent]: see below.
//   - [RetryConflicts]: reload and re-run on an optimistic concurrency
//     conflict, with bounded, jittered back-off.
//
// [DefaultMiddleware] returns them in that order.
//
// # The contract of an idempotent send
//
// With [Idempotent] on the bus, and handlers that save through
// [github.com/chronicle-go/chronicle/aggregate] repositories using the
// context they are given:
//
//   - The n-th event a command saves to a stream has the ID
//     UUIDv5(command ID, stream + "\x00" + n) ([aggregate.EventID]); retries
//     inside [RetryConflicts] derive the same IDs.
//   - Sending a command whose ID was already applied successfully never
//     appends its events again, whatever happened to the streams since.
//   - It returns a nil error with the original result — [Result.Appended]
//     lists the versions, event IDs and positions of the events appended the
//     first time, and [Result.Replayed] is true — for sequential re-sends,
//     for concurrent duplicates (the store's idempotent append), and after a
//     crash between the append and the reply. One exception: when the
//     original events lie behind the aggregate's snapshot by more than
//     [aggregate.Config.ReplayWindow] events (default 1000) and the handler,
//     deciding on today's state, refuses the command or decides nothing, the
//     caller gets the handler's answer (still with nothing appended).
//   - A command that failed (its handler returned an error and appended
//     nothing) is not remembered: sending it again runs it again.
//   - The original result reported is the one for the stream where the
//     re-send was recognised; a handler that saves several aggregates for
//     one command is reported for the first stream it loads or saves (keep
//     one aggregate per command).
//
// docs/commands.md explains how re-sends are recognised.
package command
