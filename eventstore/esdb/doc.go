// Package esdb is chronicle's event store on EventStoreDB and KurrentDB: an
// [eventstore.Store] for teams that already run one of them.
//
// It is built on the official gRPC client,
// [github.com/kurrent-io/KurrentDB-Client-Go] (v1.4.2), the maintained
// successor of github.com/EventStore/EventStore-Client-Go, which was archived
// in 2025 with a notice to move. The client speaks to EventStoreDB 20 and
// later and to KurrentDB.
//
// The package is a module of its own (github.com/chronicle-go/chronicle/eventstore/esdb)
// because the client brings gRPC and protobuf with it: applications that do
// not import this package do not download or build them.
//
// # Use
//
//	store, err := esdb.New(esdb.Config{ConnectionString: "esdb://127.0.0.1:2113?tls=false"})
//	if err != nil { ... }
//	defer store.Close()
//	res, err := store.Append(ctx, "order-1", eventstore.NoStream, events...)
//
// [New] does no I/O; [Store.Ping] checks that the server answers.
//
// # Versions, revisions and expected versions
//
// chronicle's versions are 1-based and the server's revisions 0-based:
// version v is revision v-1. [eventstore.Any], [eventstore.NoStream] and
// [eventstore.StreamExists] map to the client's Any{}, NoStream{} and
// StreamExists{}; [eventstore.Exact](n) to Revision(n-1), and Exact(0) to
// NoStream{}. A wrong expected version is an [*eventstore.ConflictError]
// (found with [errors.As], never with the client's FromError, which misses
// wrapped errors), whose Actual is read from the stream right after the
// refusal.
//
// # Positions
//
// $all positions are {Commit, Prepare} pairs, mapped 1:1 onto
// [eventstore.Position], and ordered the same way. Servers that send no
// position for events read from a stream (older EventStoreDB releases) give
// the zero Position there; ReadAll and Subscribe always carry one.
//
// # Events and metadata
//
// Payloads are stored as they are, with content type application/json.
// [eventstore.Metadata] is the event's user metadata, one flat JSON object of
// strings: the correlation ID under $correlationId and the causation ID under
// $causationId (EventStoreDB's own convention), the schema version under
// $schemaVersion, and the free keys as they are — a free key that starts with
// "$" is stored with one more "$" so it cannot pass for a system key. Reads
// also decode metadata written by other tools; see [MetadataRaw].
//
// # System events, namespaces
//
// EventStoreDB keeps its own events in $all (stream or type starting with
// "$": $settings, $statistics, link events "$>", projection state). ReadAll
// skips them; Subscribe skips them unless the filter asks for them (see
// [Store.Subscribe]). For the same reason appends refuse event types that
// start with "$", and, without a [Config.Namespace], stream IDs that start
// with "$". A namespace puts a prefix in front of every stream, so that
// several applications or test runs can share one server.
//
// # Idempotency: where the server differs from chronicle's contract
//
// chronicle's contract: an append whose event IDs are already stored, in
// order, right after its expected version is a retry and succeeds with the
// original result; the same ID anywhere else is a conflict. The server
// deduplicates by event ID itself: for NoStream and Exact it compares the
// events after the expected revision with the append, for Any and
// StreamExists it looks the IDs up in a cache of recent writes. The store
// reads back what the server reports, and on a wrong expected version looks
// at the stored events itself, so retries succeed with the original result
// and partial overlaps after the expected version are conflicts with
// EventID set. What the server does not check, the store cannot either
// without reading whole streams: an event ID already stored in another
// stream, earlier in the same stream when the expected version is the head,
// or (with Any or StreamExists) outside the server's idempotency cache is
// written again as a new event. The first is the server's scope:
// idempotency per stream, which the store's conformance run declares
// (eventstoretest.IdempotencyStream); docs/esdb.md lists the conformance
// cases the others affect.
//
// # Failures
//
// A server that cannot be reached, or drops the connection, gives an
// [*UnavailableError], which [eventstore.IsRetryable] reports as retryable;
// with the client's default discovery settings (10 attempts, 100ms apart)
// a refused connection fails in about a second. The client gives up for good
// after a failed discovery; the store then starts a new one, so the next
// call connects again. A subscription whose connection drops reopens itself
// after the last event it delivered.
//
// Not supported yet: stream deletion, stream metadata (max age, max count),
// persistent subscriptions and server-side projections.
package esdb
