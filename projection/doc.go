// Package projection builds read models from the event log: a [Projection]
// names the event types it handles and how, a [Runner] feeds it the log —
// catch-up from its checkpoint in large batches, then live — and a
// [CheckpointStore] commits each batch's read-model writes together with the
// checkpoint. It works with every [eventstore.Store] and imports no
// database driver.
//
// # Defining a projection
//
// A projection is generic over Tx, the unit of work its handlers write
// through: [*MemoryTx] for in-memory read models ([MemoryStore], [Table]),
// or the PostgreSQL package's *Tx for tables in PostgreSQL. The definition
// style is the same for both:
//
//	p := projection.New[*projection.MemoryTx]("balances", registry)
//	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e Deposited, rec eventstore.RecordedEvent) error {
//		v, _ := balances.GetTx(tx, e.Account)
//		balances.Put(tx, e.Account, v+e.Amount)
//		return nil
//	})
//	p.OnReset(func(ctx context.Context, tx *projection.MemoryTx) error { balances.Clear(tx); return nil })
//
// [On] looks the event type's stable name up in the [eventstore.Registry]
// and decodes each event (upcasting old payloads) before the handler sees
// it; [Projection.Handle] registers a raw [Handler] by type name. The
// handled types become the subscription's filter, so the runner never reads
// other events from a store that filters on the server.
//
// # Running
//
//	runner, err := projection.NewRunner(store, checkpoints, projection.Config{}, p)
//	go runner.Run(ctx)
//
// For each projection the runner claims ownership from the checkpoint store
// (a PostgreSQL advisory lock, or an in-process lock for [MemoryStore]);
// other runners wait as hot standbys. The owner reads the log from the
// checkpoint through [Batches] — a goroutine reading the store's
// subscription ahead into a buffer, handing over a batch when it is full or
// when nothing more is waiting — and commits each batch in one unit of work
// with the checkpoint, fenced on the checkpoint it loaded, so a crash or a
// deposed owner never applies an event twice or skips one.
//
// # Failures
//
// A failing batch is rolled back; the events before the failing one commit,
// and the failing one is retried with doubling back-off. After
// [Config.MaxAttempts] the projection stops there, in state [Failed], with
// the event and the error in its [Record]. It never skips an event on its
// own: [Runner.Skip] moves past it, [Runner.Retry] tries it again, and
// [Runner.Rebuild] starts over; the checkpoint store offers Skip and Retry
// for processes that do not run the projection.
//
// # Rebuilding
//
// [Runner.Rebuild] runs the projection's reset function and zeroes its
// checkpoint in one unit of work, replays the log up to its end as of the
// replay's start in batches of [Config.RebuildBatchSize] with [Progress]
// reports (events, events/s, position, ETA), then follows the log live
// again. The end is the last committed event, also one that a store's
// horizon still hides ([eventstore.HorizonReader]): the replay waits for it,
// reporting the transaction that holds the horizon, and a rebuild whose
// context ends first fails with a [*RebuildIncompleteError], never succeeds
// on a partial read model. Asked of a runner that follows the log live, a
// rebuild starts after the batch being applied.
//
// # Status
//
// [Runner.Status] and [Describe] give each projection's checkpoint, the
// head of the log, the lag in events and in time, its state and its last
// error. [Head] finds the head of any store's log.
package projection
