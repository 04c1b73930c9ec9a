// Package eventstore is chronicle's event store contract: the event model,
// the [Store] interface every backend implements, the typed errors, and the
// type [Registry] that turns Go values into events and back. It imports no
// database driver; backends live in sub-packages:
//
//   - [github.com/chronicle-go/chronicle/eventstore/memory]: in-process, the embedded default.
//   - [github.com/chronicle-go/chronicle/eventstore/postgres]: PostgreSQL on pgx/v5.
//   - [github.com/chronicle-go/chronicle/eventstore/esdb]: EventStoreDB / KurrentDB.
//
// Every backend runs the conformance suite in
// [github.com/chronicle-go/chronicle/eventstore/eventstoretest], which is the
// definition of the semantics below.
//
// # Streams and versions
//
// Events belong to streams, named by a stream ID (non-empty UTF-8 without
// control characters, at most [DefaultMaxStreamIDLength] bytes by default).
// Versions are 1-based: the first event of a stream has version 1 and a
// stream that does not exist has version 0.
//
// # Appends and optimistic concurrency
//
// [Store.Append] takes an [ExpectedVersion]: [Any], [NoStream],
// [StreamExists] or [Exact]. A mismatch is a [*ConflictError], which
// [errors.Is] matches to [ErrConcurrencyConflict]. Appends are atomic and
// idempotent by event ID: retrying an append with the same event IDs right
// after the same expected version returns the original result and writes
// nothing.
//
// # The global log
//
// Every event has a [Position] in the global log, a pair ordered
// lexicographically. [Store.ReadAll] and [Store.Subscribe] deliver the log in
// that order; a subscription first catches up, then follows live, and can be
// resumed from the last position handled.
//
// # Iteration
//
// Reads return Go iterators ([iter.Seq2] of [RecordedEvent] and error):
//
//	for e, err := range store.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
//
// # Errors
//
// Bad input is refused before anything is written, with an
// [*InvalidAppendError] wrapping one of [ErrEmptyAppend],
// [ErrInvalidStreamID], [ErrInvalidEvent], [ErrEventTooLarge] or
// [ErrDuplicateEventID]. [IsRetryable] tells whether an error is worth a
// retry (a version conflict, a dropped connection). An append whose outcome
// the store could not settle (its reply lost) is an [*OutcomeUnknownError]
// ([IsOutcomeUnknown]); every other error from Append means nothing was
// stored.
package eventstore
