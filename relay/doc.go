// Package relay publishes chosen events from the log to a broker: the
// producing side of integration events. The log is already the outbox — an
// event commits once, with its aggregate's change — and a [Relay] follows
// it like a projection: from a checkpoint, one owner per name across
// processes, a standby taking over when the owner dies.
//
//	r, err := relay.New(eventStore, relaypg.Store, publisher, relay.Config{
//		Name:   "order-events",
//		Source: "/shop/order",
//		Filter: eventstore.Filter{EventTypes: []string{"OrderPlaced", "OrderCancelled"}},
//	})
//	go r.Run(ctx)
//
// # Selecting and mapping
//
// [Config.Filter] narrows the subscription (event types, stream prefixes);
// [Config.Select] is a predicate on top of it. [Config.Map] turns each
// selected event into the message to publish — domain events and published
// contracts often differ — and defaults to [broker.FromEvent]: the event as
// it is, its ID as the message ID.
//
// # Publishing and the checkpoint
//
// The owner reads the log in batches ([Config.BatchSize]) and publishes
// each message through the [broker.Publisher], keeping up to
// [Config.MaxInFlight] unconfirmed. Confirmations are taken in log order,
// and the checkpoint moves only to an event whose message and every one
// before it the broker has acknowledged; it is written about once per
// [Config.CheckpointInterval] while messages come, and within an interval
// of catching up. A crash or a deposed owner therefore publishes again,
// never skips: at least once, with the event ID as the message ID so
// duplicates are recognisable.
//
// # Failures
//
// A transient failure (a lost connection, a timeout, a broker that is
// down) stops the pipeline; the relay waits a jittered, doubling back-off
// and publishes again from its checkpoint. A message the broker refuses
// for good ([broker.IsPermanent]: unroutable, too large, invalid) — or one
// that [Config.Map] fails on — is parked: stored with its error in the
// relay's state, in the same write that moves the checkpoint past it, and
// the relay goes on. An operator lists parked messages, retries them (the
// owner publishes them again) or skips them (forgets them): [Store] and
// `chronicle relay`.
//
// An event the store cannot return (a read that fails with an
// [*eventstore.UnreadableEventError] after yielding every event before it)
// is read again with the back-off, [Config.ReadAttempts] times in all, then
// parked as a [KindUnreadable] entry holding what the error named, in the
// write that moves the checkpoint past it; the relay goes on. Retrying it
// reads it again by stream and version and publishes it like any event if
// it reads now; otherwise it stays parked with the new error.
//
// # Ownership and state
//
// A [Store] keeps each relay's checkpoint and parked messages and hands out
// ownership. [MemoryStore] is the embedded mode's (ownership per process);
// [github.com/chronicle-go/chronicle/relay/postgres] keeps them in
// PostgreSQL, owned through the same advisory-lock lease as projections
// and sagas, every write on the lease's connection and fenced on the
// checkpoint.
//
// # Order
//
// The relay publishes in log order, through one publisher. What the wire
// keeps of that order is the broker's: see docs/integration.md. After a
// failure, messages are published again from the checkpoint, and a parked
// message retried later comes after newer ones.
//
// # Status
//
// [Relay.Status] and [Describe] give a relay's checkpoint, the head of the
// log, its lag in events and in time, its owner, how many messages it has
// published and parked, and its last error.
package relay
