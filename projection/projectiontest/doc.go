// Package projectiontest tests projections and the stores they run on.
//
// # Testing a projection: given events, then rows
//
// [For] starts a specification of one projection: given these events in
// the log, the read model holds these rows. The events go through the
// registry into an in-memory log, and a real [projection.Runner] applies
// them with the checkpoint store the read model uses, so an in-memory
// read model and a PostgreSQL one are tested the way they run:
//
//	func TestBalances(t *testing.T) {
//		pool, schema := pgtest.Pool(t) // a fresh schema, first on the search_path
//		if err := banking.Migrate(t.Context(), pool, schema); err != nil {
//			t.Fatal(err)
//		}
//		checkpoints, err := projpg.New(pool, projpg.Config{Schema: schema})
//		...
//		events := banking.Events()
//		projectiontest.For(t, events, banking.Balances(events), checkpoints).
//			Given("account-a", banking.AccountOpened{Owner: "Ann"}, banking.Deposited{Amount: 100_00}).
//			Given("account-b", banking.AccountOpened{Owner: "Bob"}).
//			ThenRows(pgtest.Rows(pool, `SELECT id, balance FROM balances ORDER BY id`),
//				[]any{"a", 100_00}, []any{"b", 0})
//	}
//
// [Spec.ThenRows] compares rows (numbers by value, whatever their Go type);
// [ThenTable] compares an in-memory [projection.Table]; [Spec.ThenStops]
// expects the projection to stop at an event whose handler fails. Given and
// Then may alternate: each Then applies what was given since the last one.
//
// # Checkpoint store conformance
//
// [Run] is the suite every [projection.CheckpointStore] runs: claims are
// exclusive, a commit applies the read-model writes and the checkpoint
// together or not at all, writes are fenced on the checkpoint, failures are
// recorded and only an operator's skip or retry moves past them, resets
// empty the read model with the checkpoint.
//
//	func TestCheckpointStore(t *testing.T) {
//		projectiontest.Run(t, func(t *testing.T) (projection.CheckpointStore[*projection.MemoryTx], projectiontest.Model[*projection.MemoryTx]) {
//			...
//		})
//	}
package projectiontest
