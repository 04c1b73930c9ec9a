// Package postgres keeps aggregate snapshots in PostgreSQL: a
// [github.com/chronicle-go/chronicle/aggregate.SnapshotStore] whose table
// sits beside the event store's, and which, paired with the PostgreSQL
// event store, writes each snapshot in the same transaction as the events
// it follows.
//
// # Use
//
//	events, _ := espg.New(pool, espg.Config{Schema: "chronicle"})
//	// import aggpg "github.com/chronicle-go/chronicle/aggregate/postgres"
//	snaps, _ := aggpg.New(pool, aggpg.Config{EventStore: events})
//	// once, at deployment (or `chronicle migrate`):
//	_ = events.Migrate(ctx)
//	_ = snaps.Migrate(ctx)
//	repo, _ := aggregate.NewRepository(events, registry, aggregate.Config[*Order]{
//		Type: "order", Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(100),
//	})
//
// # Schema
//
// The table snapshots (stream_id primary key, aggregate_type, version,
// schema_version, data bytea, created_at) is created by the embedded,
// numbered migrations of component "snapshots" ([Migrations]), applied by
// [SnapshotStore.Migrate] or the `chronicle migrate` command; [New] never
// touches the database. The schema name is validated and quoted; nothing
// else is spliced into SQL.
//
// # Transactions
//
// With [Config.EventStore] set, the store is an
// [github.com/chronicle-go/chronicle/aggregate.AtomicSnapshotStore]: a
// repository on that same event store appends the events with
// [github.com/chronicle-go/chronicle/eventstore/postgres.Store.AppendTx] and
// upserts the snapshot in one transaction, so a snapshot exists exactly when
// the events it covers do. When the event store's per-stream order guard
// asks for a new transaction, the whole transaction runs again (up to
// [Config.Attempts] times). [SnapshotStore.SaveTx] joins a caller's own
// transaction.
//
// # Guarantees
//
// Safe for concurrent use. A snapshot never replaces one with a higher
// version of the same stream.
package postgres
