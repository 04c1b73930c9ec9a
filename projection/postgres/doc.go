// Package postgres keeps projections' read models and checkpoints in
// PostgreSQL: each batch of events is one transaction holding the handlers'
// writes and the checkpoint move, so a crash never applies an event twice or
// skips one. [Store] implements [projection.CheckpointStore] with [*Tx] as the
// handlers' unit of work.
//
// # Setup
//
//	// import projpg "github.com/chronicle-go/chronicle/projection/postgres"
//	checkpoints, err := projpg.New(pool, projpg.Config{Schema: "chronicle"})
//	err = checkpoints.Migrate(ctx) // or `chronicle migrate`
//	p := projection.New[*projpg.Tx]("order_summary", registry)
//	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e OrderPlaced, rec eventstore.RecordedEvent) error {
//		tx.Queue(`INSERT INTO order_summary (id, status) VALUES ($1, 'placed')`, e.OrderID)
//		return nil
//	})
//	p.OnReset(projpg.Truncate("order_summary"))
//	runner, err := projection.NewRunner(eventStore, checkpoints, projection.Config{}, p)
//
// Migrations create one table, projection_checkpoints, in the configured
// schema (component "projections"); the read model's tables are the
// application's, created by its own migrations.
//
// # Handlers and Tx
//
// [*Tx] is a [pgx.Tx] on the batch's transaction. [Tx.Queue] adds a
// statement to a pipeline that is sent, with the checkpoint update, in one
// round trip: a handler that only writes should Queue, so a batch of
// thousands of events costs a handful of round trips. Exec, Query and the
// rest flush the pipeline first, so statements keep their order. Handlers
// never commit or roll back: they return an error.
//
// # Ownership
//
// [Store.Claim] opens a dedicated connection, outside the pool, and takes a
// session-level advisory lock keyed on the schema and the projection's name;
// the projection's transactions all run on that connection, so the lock and
// the writes die together. A standby retries the lock every
// [Config.ClaimInterval] and so owns the projection within about that long
// after the owner's connection dies. Each checkpoint write is also fenced
// (UPDATE … WHERE the checkpoint is the one this owner last wrote), so a
// deposed owner can never commit.
//
// # Rebuilds
//
// [Truncate] is the simple reset function: the tables are emptied in the
// rebuild's first transaction. [ShadowTables] rebuilds blue/green: the log
// is replayed into copies in a shadow schema while the live tables keep
// serving, and the copies replace them in the transaction that ends the
// rebuild.
//
// # Status and operations
//
// The checkpoint table holds each projection's position, state, stuck event
// and last error, so any process can read it: [ListStatus] (whether a runner
// holds the lock now included), [Skip] and [Retry] are what `chronicle
// projections` calls; [projection.Describe] adds the lag. [Checksum]
// digests a table's rows, to prove a rebuilt read model equals the live one.
package postgres
