// Package memory is an in-process [saga.Store]: every operation runs under
// one lock, so a [saga.StateStore.Commit] is as atomic as a PostgreSQL
// transaction. It is for tests, examples and single-process embedded use:
// its state dies with the process, so a production saga, which must survive
// a restart, uses [github.com/chronicle-go/chronicle/saga/postgres].
//
// # Guarantees
//
// The same as every [saga.Store] (the shared suite in
// [github.com/chronicle-go/chronicle/saga/sagatest] checks them): versioned
// instance writes, fenced checkpoints, reservations that never hand one row to
// two callers and serve each instance's commands in order.
package memory
