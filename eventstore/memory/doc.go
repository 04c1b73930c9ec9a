// Package memory is chronicle's in-process event store: the embedded default,
// and the reference for the semantics every other backend must meet (it
// passes the same [eventstoretest] suite).
//
// # Use
//
//	store := memory.New(memory.Config{})
//	res, err := store.Append(ctx, "order-1", eventstore.NoStream, events...)
//
// Events live in the process's memory and are gone when it exits: use it for
// the embedded default, for tests, and for services whose log fits in memory
// and may be rebuilt; use [github.com/chronicle-go/chronicle/eventstore/postgres]
// when the log must survive.
//
// # Guarantees
//
//   - Safe for concurrent use. Appends are serialised by one lock; reads take
//     a shared lock for one chunk of events at a time.
//   - Positions are {n, n} for the n-th event of the global log.
//   - Subscriptions read the log itself rather than a per-subscriber queue,
//     so writers never block on a slow subscriber and no event is ever
//     dropped for one; a subscription holds at most one chunk (512 events)
//     of copies.
//   - Appended payloads and metadata are copied (into shared blocks, so an
//     append allocates little); what reads return shares the store's copy
//     and must be treated as read-only.
//   - The log is kept in blocks of compact records and never copied as it
//     grows. The benchmarks (bench_test.go) report events per second of
//     wall-clock and of CPU time; on a machine shared with other work, read
//     the CPU-time figures against BenchmarkCalibration from the same run.
//   - Every call honours its context.
//
// [eventstoretest]: https://pkg.go.dev/github.com/chronicle-go/chronicle/eventstore/eventstoretest
package memory
