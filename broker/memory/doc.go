// Package memory is an in-process broker: queues bound to event types, a
// [broker.Publisher] that routes each message to them, and a
// [broker.Consumer] per queue. It is what the embedded mode uses when the
// services of a program talk through a broker without a server (the
// e-commerce example without -broker): the same relay and inbox code runs
// as against NATS JetStream or RabbitMQ.
//
// Semantics follow RabbitMQ's topic exchange with mandatory routing: a
// message goes to every queue bound to its type (or to every type), a
// message no queue takes is refused ([broker.ErrRefused]), and a delivery
// that is not acknowledged is delivered again: Retry re-queues it after
// its delay. Nothing survives the process.
package memory
