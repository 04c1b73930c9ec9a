// Package jetstream is chronicle's NATS JetStream adapter: a
// [broker.Publisher] that publishes asynchronously with a bounded window and
// a [broker.Consumer] on a durable pull consumer, over
// github.com/nats-io/nats.go and its jetstream package.
//
// # Publishing
//
// [NewPublisher] maps each message to a subject (by default
// "<prefix>.<type>", see [PublisherConfig.Subject]) and publishes it with
// PublishMsgAsync, the header Nats-Msg-Id set to the message ID (the event
// ID), so the server drops a message published again within the stream's
// duplicate window. At most [PublisherConfig.Window] messages are in flight;
// each [broker.Confirmation] resolves with the PubAck (a duplicate counts
// as stored), an error the server answered, a timeout, or
// nats.ErrDisconnected when the connection dropped with the message
// unanswered. The server's refusal of a message that is larger than the
// stream allows (or than the server's max_payload) is [broker.ErrRefused];
// everything else is transient, also "no stream answers this subject",
// which is what a JetStream that is down or not yet provisioned says.
//
// # Order
//
// One publisher's messages reach the server in the order of the Publish
// calls and a stream stores them in arrival order, so without failures a
// stream holds them in log order. After a failure the relay publishes
// again from its checkpoint: a message that failed may then land after
// later ones that did not, and duplicates of stored ones are dropped.
//
// # Streams
//
// [Provision] creates or updates a stream for the subjects with a
// duplicate window (default two minutes). Streams are the operator's: the
// publisher never creates one behind their back.
//
// # Consuming
//
// [NewConsumer] creates or updates a durable pull consumer with explicit
// acks, a maximum number of deliveries and a back-off between them, and
// receives through it. The inbox acks a delivery after its transaction has
// committed; a delivery whose ack is lost is delivered again and the inbox
// recognises it. nats.go reconnects by itself; Receive carries on over the
// same durable consumer.
//
// The consumer reads with nats.go's Consume, whose callback hands each
// message to Receive and blocks while Receive is behind, pulling at most
// [ConsumerConfig.Buffer] ahead. It does not use Messages: that iterator
// reads a channel subscription exactly one batch deep, and after a
// reconnect nats.go pulls a whole batch again while the channel still
// holds the last one, so the client dropped messages as a slow consumer
// and the server delivered them again only after AckWait (30s by
// default). Errors met while consuming (missed heartbeats, a slow consumer
// on the connection, the connection closed) come out of Receive and are
// counted by [MetricConsumerErrors].
//
// # Wire format
//
// CloudEvents binary content mode per the CloudEvents NATS protocol
// binding: the body is the event's JSON, and every attribute is a header
// "ce-<name>" whose value is percent-encoded (space, '"', '%' and anything
// outside printable ASCII). The trace context is also written as the plain
// "traceparent"/"tracestate" headers that OpenTelemetry propagators read.
package jetstream
