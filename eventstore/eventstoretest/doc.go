// Package eventstoretest is the conformance suite every
// [eventstore.Store] backend runs: it is the executable definition of the
// semantics in [eventstore]. A backend's own test calls [Run] with a function
// that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
//			s := memory.New(memory.Config{})
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// # What it covers
//
//   - Expected versions ([eventstore.Any], [eventstore.NoStream],
//     [eventstore.StreamExists], [eventstore.Exact]) on missing and existing
//     streams and after a conflict, checked with both [errors.Is] and
//     [errors.As].
//   - Atomic multi-event appends and contiguous versions.
//   - Idempotent retries by event ID, and event IDs reused anywhere else.
//   - ReadStream and ReadAll: directions, starting points, limits, breaking
//     out early, missing streams.
//   - Payloads round trip byte for byte (numbers beyond any float or
//     numeric included); metadata and recording times round trip.
//   - Subscriptions: catch-up, resume from a checkpoint, live delivery,
//     filters, cancellation.
//   - Concurrency: writers racing [eventstore.Exact] on one stream (exactly
//     one winner per version), and a subscriber and readers running while
//     several writers append (every event once, in one global order, each
//     stream's versions without gaps).
//   - Cancelled contexts and every kind of bad input, refused with the typed
//     errors of [eventstore.Limits.CheckAppend] and nothing written.
//
// # Shape
//
// Every case is a named subtest (run one with
// `go test -run 'TestConformance/Idempotency/'`). The function passed to
// [Run] is called inside the subtest that needs a store, so it may register
// clean-ups with that subtest's [testing.T.Cleanup]; it must return a new,
// empty store each time. Cases that depend on what the log holds get a
// store of their own; the cases of a table that only read one fixture, or
// whose appends are all refused, or that each use streams of their own
// share one store per table, which keeps the suite to about fifty stores
// (a backend that creates a schema per store pays for each). The suite
// needs no database driver; it talks to the store only through
// [eventstore.Store].
//
// The concurrency cases are sized by [Options]; [Run] uses the defaults
// (16 writers for 1,000 rounds, 8 writers appending 10,000 events).
// [RunWithOptions] changes them, tells the suite which [eventstore.Limits]
// the store enforces when they are not the defaults, and where the store
// recognises stored event IDs ([IdempotencyScope]: the whole store, as the
// contract says, or one stream, as KurrentDB does).
//
// # Fuzzing
//
// [FuzzAppend] is a fuzz target for a backend's append validation: every
// input is refused with the typed error and stores nothing, or reads back
// byte for byte.
//
// # Time
//
// No case asserts how long anything takes. Waits for events that must
// arrive are bounded by [Options.Timeout] only so a broken store fails the
// test instead of hanging it.
package eventstoretest
