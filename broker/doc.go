// Package broker is chronicle's broker-neutral contract for integration
// events: the [Message] that travels between services (a CloudEvents 1.0
// event), the [Publisher] a relay sends through, and the [Consumer] an
// inbox receives from. It imports no broker client; adapters live in
// sub-packages:
//
//   - [github.com/chronicle-go/chronicle/broker/jetstream]: NATS JetStream.
//   - [github.com/chronicle-go/chronicle/broker/rabbitmq]: RabbitMQ (AMQP 0-9-1).
//   - [github.com/chronicle-go/chronicle/broker/memory]: in-process, for the
//     embedded mode and single-process programs.
//
// # Domain events and integration events
//
// A domain event is a service's own record of what happened; an
// integration event is what the service promises other services. They
// often differ (a published contract changes more slowly), so a relay maps
// one to the other; [FromEvent] is the default mapping: the event as it is.
//
// # The wire format
//
// Messages are CloudEvents 1.0 in binary content mode: the event's JSON is
// the body, and the attributes travel as headers named by each broker's
// protocol binding (ce-… on NATS, cloudEvents_… on AMQP). [Message.Attributes]
// lists them in their canonical string form and [FromAttributes] reads them
// back, so every adapter maps the same set:
//
//	id               the event ID (also the broker's message ID)
//	source           the producing service (a URI-reference)
//	type             the registered event type name
//	subject          the stream ID
//	time             when the event was recorded (RFC 3339, nanoseconds)
//	specversion      1.0
//	datacontenttype  application/json
//	chronicleposition      the event's position in the source log (commit/prepare)
//	chronicleversion       the event's version in its stream
//	chroniclecorrelation   the correlation ID
//	chroniclecausation     the causation ID
//	traceparent, tracestate  W3C trace context, when the event's metadata holds one
//
// # Guarantees
//
// Delivery is at least once: a publisher may send a message again after a
// failure and a consumer receives again what it did not acknowledge. The
// message ID is the event ID, so duplicates are recognisable everywhere:
// JetStream drops them within its duplicate window, and an inbox
// ([github.com/chronicle-go/chronicle/inbox]) applies each once.
package broker
