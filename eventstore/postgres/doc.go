// Package postgres is chronicle's PostgreSQL event store, on pgx/v5. It
// implements [eventstore.Store] and passes the [eventstoretest] suite.
//
// # Use
//
//	pool, _ := pgxpool.New(ctx, url)
//	// import espg "github.com/chronicle-go/chronicle/eventstore/postgres"
//	store, err := espg.New(pool, espg.Config{Schema: "chronicle"})
//	...
//	err = store.Migrate(ctx) // or `chronicle migrate`; New never creates tables
//	res, err := store.Append(ctx, "order-1", eventstore.NoStream, events...)
//
// [Store.AppendTx] appends inside the caller's own transaction, so events
// commit together with a read model, a saga's state or an outbox.
//
// # Schema
//
// Embedded, numbered migrations ([Migrations], component "eventstore")
// create, in the configured schema: events (the log; a stream's version is
// its last event's; payloads and metadata as json, kept byte for byte),
// epoch (the transaction id offset of [Store.Reanchor]) and the
// append_events function. See docs/postgres.md.
//
// Every statement the store sends is a file in sql/ (shared pieces in
// sql/parts/), embedded and rendered once for the configured schema; the
// comments there explain each one. TestAppendRulesAgree keeps the
// single-statement append, append_events and the Go side in step.
//
// # Unreadable events
//
// A read that fails on one stored event yields every event before it, then
// an [eventstore.UnreadableEventError] naming it, instead of failing the
// page: see unreadable.go.
//
// # Global order
//
// An event's [eventstore.Position] is {Commit: transaction id + epoch
// offset, Prepare: identity position}. Readers order the log by that pair and
// read only below the horizon, pg_snapshot_xmin(pg_current_snapshot()) plus
// the offset: every transaction below it has ended, so nothing can ever
// appear behind a position a reader has passed. The price: a transaction
// that stays open (anywhere in the cluster, once it has written) holds the
// horizon and delays readers and subscribers until it ends; [Store.Status]
// reports how long.
//
// Each stream's versions follow the global order: an append computes its
// version from the stream's last committed event and takes its transaction
// id after that, and if the stream's last event has a higher transaction id
// than its own (possible only for a caller's transaction that wrote before),
// it runs again in a new transaction ([Store.Append]) or returns a retryable
// conflict ([Store.AppendTx]).
//
// # Appends
//
// One round trip in the common case: a single INSERT reads the stream's last
// event, checks the expected version and the order guard, and inserts every
// event; the (stream_id, version) primary key refuses a version taken twice,
// so racing appends cannot both win. When it writes nothing, a read-only
// query settles the common case, a version mismatch; idempotent retries,
// event IDs stored elsewhere, the order guard and Any appends that lost a
// race go on to the append_events function, which queues on the stream's
// advisory lock and tells an idempotent retry from a conflict. Version
// mismatches and event IDs stored elsewhere are [*eventstore.ConflictError]
// values.
//
// # Lost replies
//
// An append whose context ends, or whose connection fails, after its
// statement may have reached the server is not reported as failed while the
// server may still commit it: the store waits for that server session to
// end (ending it if need be), then looks the event IDs up, and answers
// stored or not stored; when it cannot tell within [Config.ResolveTimeout],
// it returns an [eventstore.OutcomeUnknownError]. [Store.CommitTx] does the
// same for a caller's transaction that used [Store.AppendTx].
//
// # Subscriptions
//
// [Store.Subscribe] catches up in pages, then waits for a wake-up: appends
// wake this process's subscriptions directly and other processes' through a
// coalesced NOTIFY sent after commit, outside the transaction; a dedicated
// connection LISTENs. Subscriptions also poll every [Config.PollInterval],
// which covers lost notifications and writers that send none. Transient
// errors (a dropped connection) are retried from the last delivered position.
//
// # Dump and restore
//
// A restored database hands out lower transaction ids than the stored ones;
// run [Store.Reanchor] (`chronicle reanchor`) once after a restore, before
// writers start. [Status.NeedsReanchor] tells when it is needed.
//
// [eventstoretest]: https://pkg.go.dev/github.com/chronicle-go/chronicle/eventstore/eventstoretest
package postgres
