// Package rabbitmq is chronicle's RabbitMQ adapter (AMQP 0-9-1, over
// github.com/rabbitmq/amqp091-go): a [broker.Publisher] with publisher
// confirms and a [broker.Consumer] with manual acks and prefetch, both
// reconnecting after a lost connection.
//
// # Topology
//
// Messages go to a durable topic exchange, routed by event type (the
// routing key is the message type by default, see
// [PublisherConfig.RoutingKey]). Consumers read durable queues bound to
// the types they want. [Provision] declares the exchange, the queues and
// their bindings; it is the operator's to call (or the application's at
// start-up), never the publisher's.
//
// # Publishing
//
// The channel is in confirm mode; every message is persistent and
// published with the mandatory flag, its message-id property set to the
// event ID. A message no queue is bound to comes back (basic.return) and
// its confirmation fails with [broker.ErrRefused]: an unroutable message is
// an error the relay parks, never a silent loss. A message the broker
// nacks, or whose confirm is lost with the connection, fails with a
// transient error. At most [PublisherConfig.Window] messages are
// unconfirmed at once. After a lost connection the next Publish dials
// again.
//
// Returns and confirms are read by one goroutine: the client hands a
// message's basic.return to the (buffered) returns channel before it
// handles the message's basic.ack, and the goroutine drains the returns
// before it settles each confirm, so a confirmation always knows whether
// its message was returned.
//
// # Order
//
// One channel's messages are routed in publishing order and a queue is
// FIFO, so without failures a queue holds them in log order. After a
// failure the relay publishes again from its checkpoint (duplicates the
// inbox drops, and a failed message after later ones); a consumer's
// requeued delivery comes back after others.
//
// # Consuming
//
// [NewConsumer] consumes a queue with manual acks and a prefetch window.
// The inbox acks a delivery after its transaction has committed; a
// delivery whose ack is lost with the connection is requeued by the broker
// and the inbox recognises it. After a lost connection Receive dials again
// and consumes anew. Retry nacks with requeue after the delay (RabbitMQ
// has no delayed requeue; the delivery stays unacked meanwhile).
//
// # Wire format
//
// CloudEvents binary content mode after the CloudEvents AMQP protocol
// binding: the body is the event's JSON, datacontenttype is the
// content-type property, and every other attribute is a header named
// "cloudEvents_<name>" (the '_' separator the binding recommends) holding
// the canonical string. The message-id, type and timestamp properties
// repeat id, type and time, and the trace context is also written as the
// plain "traceparent"/"tracestate" headers.
package rabbitmq
