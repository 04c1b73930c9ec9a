// Package aggregate holds chronicle's aggregates: the [Root] an aggregate
// embeds, the typed [Repository] that loads it (from a snapshot and the
// events after it) and saves it with optimistic concurrency, snapshots, and
// the functional [Decider] style.
//
// # Object style
//
// An aggregate embeds [Root], checks invariants in its methods, records
// events with [Record], and evolves its state in Apply:
//
//	type Order struct {
//		aggregate.Root
//		Placed bool
//	}
//
//	func (o *Order) Place() error {
//		if o.Placed {
//			return ErrAlreadyPlaced
//		}
//		aggregate.Record(o, OrderPlaced{ID: o.AggregateID()})
//		return nil
//	}
//
//	func (o *Order) Apply(e any) {
//		switch e.(type) {
//		case OrderPlaced:
//			o.Placed = true
//		}
//	}
//
// # Repository
//
// [NewRepository] binds an aggregate type to an [eventstore.Store] and an
// [eventstore.Registry] (which encodes and decodes the events). Each
// aggregate lives in one stream, by default "<type>-<id>" ([Config.StreamID]
// changes it). [Repository.Load] returns a [*NotFoundError] for an aggregate
// without events; [Repository.LoadOrNew] and [Repository.New] start one at
// version 0. [Repository.Save] appends with [eventstore.Exact] of the loaded
// version, so a concurrent writer makes it fail with the store's
// [*eventstore.ConflictError].
//
// # Snapshots
//
// With [Config.Snapshots] set, a save that the [SnapshotPolicy] selects
// (by default [EveryN](100)) also stores the aggregate's encoded state, and
// Load starts from the latest snapshot, reading only the events after it.
// A snapshot records [Config.SnapshotSchema]; one of any other schema
// version, of another aggregate type, or that does not decode is ignored
// and the aggregate is loaded from all of its events: a stale snapshot is
// never misread. [MemorySnapshots] keeps snapshots in memory; the PostgreSQL
// store in [github.com/chronicle-go/chronicle/aggregate/postgres] keeps them
// in a table and, as an [AtomicSnapshotStore], writes them in the same
// transaction as the events.
//
// # Decider style
//
// A [Decider] is a pair of pure functions, Decide(state, command) → events
// and Evolve(state, event) → state. Its state is loaded and saved through
// the same [Repository] as a [*State]; [Execute] runs a command end to end.
//
// # Commands
//
// The command bus ([github.com/chronicle-go/chronicle/command]) opens a
// [Unit] per command in the handler's context: repositories stamp its
// metadata (causation and correlation IDs) on the events they save and,
// when it is seeded with the command's ID, give the events deterministic
// IDs, so a command re-sent after it was applied appends nothing
// ([AlreadyAppliedError]).
//
// # Concurrency
//
// A [Repository] is safe for concurrent use. An aggregate value is not: load
// one per command.
package aggregate
