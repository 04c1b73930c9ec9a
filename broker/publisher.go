package broker

import (
	"context"
	"sync"
)

// Publisher sends messages to a broker. A relay publishes through one.
//
// Implementations must be safe for concurrent use, and:
//
//   - Publish starts sending m and returns without waiting for the broker's
//     answer, which the returned [Confirmation] reports; it blocks while
//     the publisher's window of unconfirmed messages is full, until a place
//     frees or ctx ends. The window bounds memory and lets a relay keep
//     many messages in flight.
//   - A Confirmation resolves exactly once, with nil only when the broker
//     has stored the message durably (a JetStream PubAck, a RabbitMQ
//     publisher confirm of a routed, persistent message). A confirmation
//     whose answer is lost (the connection died) resolves with an error;
//     none stays pending for ever.
//   - Errors that sending again cannot fix are [ErrRefused] or
//     [ErrInvalidMessage] ([IsPermanent]); the rest are transient.
//   - Messages of one Publish caller reach the broker in the order of the
//     calls; what the broker keeps of that order is each adapter's to say.
type Publisher interface {
	Publish(ctx context.Context, m Message) (Confirmation, error)
}

// Confirmation is the broker's answer to one published message.
type Confirmation interface {
	// Done is closed when the answer is in.
	Done() <-chan struct{}
	// Err is the answer once Done is closed: nil when the broker stored
	// the message.
	Err() error
}

// Confirm is a ready-made [Confirmation] that adapters resolve once.
type Confirm struct {
	once sync.Once
	done chan struct{}
	err  error
}

// NewConfirm returns an unresolved confirmation.
func NewConfirm() *Confirm { return &Confirm{done: make(chan struct{})} }

// Resolved returns a confirmation already resolved with err.
func Resolved(err error) *Confirm {
	c := NewConfirm()
	c.Resolve(err)
	return c
}

// Resolve sets the answer; only the first call counts. It reports whether
// this call resolved c.
func (c *Confirm) Resolve(err error) bool {
	ok := false
	c.once.Do(func() {
		c.err = err
		close(c.done)
		ok = true
	})
	return ok
}

// Done implements [Confirmation].
func (c *Confirm) Done() <-chan struct{} { return c.done }

// Err implements [Confirmation].
func (c *Confirm) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Wait blocks until c resolves or ctx ends, and returns the answer or ctx's
// error.
func Wait(ctx context.Context, c Confirmation) error {
	select {
	case <-c.Done():
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}
