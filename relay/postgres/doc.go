// Package postgres keeps relays' checkpoints and parked messages in
// PostgreSQL and hands out their ownership across processes. [Store]
// implements [relay.Store].
//
//	// import relaypg "github.com/chronicle-go/chronicle/relay/postgres"
//	state, _ := relaypg.New(pool, relaypg.Config{Schema: "shop"})
//	err := state.Migrate(ctx) // or `chronicle migrate`
//	r, _ := relay.New(eventStore, state, publisher, relay.Config{Name: "order-events", Source: "/shop/order"})
//
// Migrations (component "relays") create relay_checkpoints and
// relay_parked in the configured schema.
//
// # Ownership
//
// A claim is a session-level advisory lock held on a dedicated connection
// (the lease projections and sagas use, kind "relay"): one owner per relay
// name, a standby retrying every [Config.ClaimInterval] and owning the
// relay within about that long after the owner's connection dies. Every
// write of the owner runs on the lease's connection, so the lock and the
// writes die together, and checkpoint moves are fenced (UPDATE … WHERE the
// checkpoint is the one this owner last wrote), so a deposed owner can
// never move it.
//
// # Operations
//
// [ListStatus], [Parked], [Retry] and [Skip] work from any process (what
// `chronicle relay` calls); a retried message is published again by the
// relay's owner within its retry interval.
package postgres
