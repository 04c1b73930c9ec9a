// Package commandtest is the suite for the stores the command bus runs on:
// an event store and a snapshot store behind an [aggregate.Repository],
// driven through a [command.Bus] with the idempotency and conflict-retry
// middleware.
//
// [Run] checks what a backend must give the bus: concurrent commands on one
// aggregate, each applied once through conflict retry; re-sent commands
// (also concurrent ones, and ones whose events a snapshot hides) appending
// nothing and returning the original result; loading from the latest
// snapshot and ignoring one of another schema version. The memory store
// and the PostgreSQL store run it:
//
//	func TestCommands(t *testing.T) {
//		commandtest.Run(t, func(t *testing.T) commandtest.Backend {
//			return commandtest.Backend{Store: newEventStore(t), Snapshots: newSnapshotStore(t)}
//		})
//	}
//
// To test one aggregate's decisions, use the given / when / then kit
// [github.com/chronicle-go/chronicle/aggregate/aggregatetest].
package commandtest
