package broker

import (
	"context"
	"time"
)

// Consumer receives messages from a broker: a JetStream durable pull
// consumer, a RabbitMQ queue. An inbox
// ([github.com/chronicle-go/chronicle/inbox]) receives through one.
//
// Implementations must be safe for one receiving goroutine and any number
// of goroutines settling deliveries, and:
//
//   - Receive blocks until at least one delivery is there (or ctx ends,
//     returning ctx's error) and returns up to max of them, in the order
//     the broker delivered them. It reconnects on its own after a lost
//     connection; an error it returns is worth calling it again after a
//     pause, except [ErrClosed].
//   - Every delivery is settled once, with Ack or Retry; one that is never
//     settled (the process died) is delivered again by the broker.
type Consumer interface {
	Receive(ctx context.Context, max int) ([]Delivery, error)
}

// Delivery is one received message, to settle once.
type Delivery interface {
	// Message decodes the delivery. A delivery that is not a valid
	// CloudEvent returns an [*InvalidMessageError] with what could be read
	// (Data at least), so the inbox can park it.
	Message() (Message, error)
	// Attempt is how many times the broker has delivered this message,
	// this time included, when the broker counts (JetStream does), or 0.
	Attempt() int
	// Ack tells the broker the message is handled: it is not delivered
	// again. After a lost connection an Ack may fail; the broker then
	// delivers the message again, and the inbox recognises it.
	Ack(ctx context.Context) error
	// Retry gives the message back to be delivered again after about
	// delay.
	Retry(ctx context.Context, delay time.Duration) error
}
