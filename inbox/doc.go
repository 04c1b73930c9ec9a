// Package inbox applies integration events received from a broker with
// every effect applied once, although every broker delivers at least once.
//
// An [Inbox] receives from a [broker.Consumer] in batches and hands the
// messages to a [Handler] inside one unit of work of its [Store], which in
// the same unit records each message ID as processed; only then are the
// deliveries acked. A redelivered message — an ack lost with the
// connection, a consumer killed between its commit and its ack, a
// publisher that sent twice — finds its ID recorded and is acked without
// running the handler again.
//
//	// import inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
//	store, _ := inboxpg.New(pool, inboxpg.Config{Schema: "logistics"})
//	in, _ := inbox.New(consumer, store, inbox.HandlerFunc[*inboxpg.Tx](
//		func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
//			_, err := tx.Exec(ctx, `INSERT INTO shipments ...`, ...)  // commits with the record
//			return err
//		}), inbox.Config{Name: "logistics"})
//	go in.Run(ctx)
//
// # Failures and poison messages
//
// A batch whose handler fails is rolled back and its messages are applied
// one by one. A message that fails is given back to the broker to be
// delivered again after a jittered, doubling back-off; its attempts are counted in
// the store (brokers do not all count deliveries), and after
// [Config.MaxAttempts] it is parked: recorded with its error and its
// content, acked, and shown by [Store.Parked] and `chronicle inbox
// status`, instead of looping for ever. A delivery that is not a valid
// CloudEvent is parked at once.
//
// # Retention
//
// Processed records are pruned after [Config.Retention] (default seven
// days). Keep it longer than any redelivery can come: the broker's
// redelivery limits, a stream's retention that a new consumer could
// replay, a relay's longest outage.
//
// # Stores
//
// [MemoryStore] keeps the records in the process, for the embedded mode:
// its unit of work is not a transaction, so handlers must make their
// effects idempotent themselves (for example by appending events with IDs
// derived from the message ID). The PostgreSQL store
// ([github.com/chronicle-go/chronicle/inbox/postgres]) commits the
// handler's writes and the record in one transaction.
package inbox
