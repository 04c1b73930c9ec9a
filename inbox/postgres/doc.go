// Package postgres keeps an inbox's processed records in PostgreSQL: the
// handler's writes and the record "this message ID was processed" commit
// in one transaction, so a redelivered message is applied once. [Store]
// implements [inbox.Store] with [*Tx] as the handlers' unit of work.
//
//	// import inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
//	store, _ := inboxpg.New(pool, inboxpg.Config{Schema: "logistics"})
//	err := store.Migrate(ctx) // or `chronicle migrate`
//	in, _ := inbox.New(consumer, store, inbox.HandlerFunc[*inboxpg.Tx](
//		func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
//			_, err := tx.Exec(ctx, `UPDATE stock SET reserved = reserved + 1 WHERE sku = $1`, sku)
//			return err
//		}), inbox.Config{Name: "logistics"})
//
// A handler that appends events joins the transaction with the PostgreSQL
// event store's AppendTx(ctx, tx.Tx, …).
//
// Migrations (component "inbox") create inbox_processed (consumer,
// message ID, when) and inbox_failures (attempts, then parked messages
// with their attributes, body and error). [Status] and [Parked] read them
// for `chronicle inbox`.
//
// Two deliveries of one message in flight at once (two processes) are
// settled by the primary key: the second insert waits for the first
// transaction and, once it commits, finds the record.
package postgres
