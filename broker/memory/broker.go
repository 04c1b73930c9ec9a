package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/broker"
)

// Broker is an in-process broker. The zero value is not usable: call
// [New].
type Broker struct {
	mu     sync.Mutex
	queues map[string]*queue
	closed bool
}

// New returns an empty broker.
func New() *Broker { return &Broker{queues: map[string]*queue{}} }

var _ broker.Publisher = (*Broker)(nil)

// Bind declares queue, if needed, and routes to it the messages of the
// given types, or of every type when none is given.
func (b *Broker) Bind(queue string, types ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue(queue)
	if len(types) == 0 {
		q.all = true
	}
	for _, t := range types {
		if !slices.Contains(q.types, t) {
			q.types = append(q.types, t)
		}
	}
}

func (b *Broker) queue(name string) *queue {
	q := b.queues[name]
	if q == nil {
		q = &queue{name: name, wake: make(chan struct{}), unacked: map[uint64]*entry{}}
		b.queues[name] = q
	}
	return q
}

// Publish implements [broker.Publisher]: it routes m to every queue bound
// to its type at once and returns a resolved confirmation, refused when no
// queue takes it. It never blocks.
func (b *Broker) Publish(ctx context.Context, m broker.Message) (broker.Confirmation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return broker.Resolved(err), nil
	}
	m.Data = slices.Clone(m.Data)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, broker.ErrClosed
	}
	routed := 0
	for _, q := range b.queues {
		if q.all || slices.Contains(q.types, m.Type) {
			q.push(&entry{msg: m})
			routed++
		}
	}
	if routed == 0 {
		return broker.Resolved(&broker.RefusedError{ID: m.ID, Reason: fmt.Sprintf("no queue is bound to type %q", m.Type)}), nil
	}
	return broker.Resolved(nil), nil
}

// Close ends every consumer's Receive with [broker.ErrClosed] and refuses
// further publishing.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		for _, q := range b.queues {
			q.notify()
		}
	}
	return nil
}

// QueueStats counts what happened in one queue.
type QueueStats struct {
	// Published counts the messages routed to the queue; Delivered every
	// delivery, Redelivered those after the first of a message.
	Published, Delivered, Redelivered, Acked int
	// Ready are waiting to be received; Unacked are received, not settled.
	Ready, Unacked int
}

// Stats returns the counts of queue (zero for an unknown queue).
func (b *Broker) Stats(queue string) QueueStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return QueueStats{}
	}
	s := q.stats
	s.Ready, s.Unacked = len(q.ready), len(q.unacked)
	return s
}

// Consumer returns a consumer of queue, declaring it if needed. Several
// consumers of one queue share its messages.
func (b *Broker) Consumer(queue string) broker.Consumer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &consumer{b: b, q: b.queue(queue)}
}

type entry struct {
	msg     broker.Message
	attempt int
	tag     uint64
}

type queue struct {
	name    string
	types   []string
	all     bool
	ready   []*entry
	unacked map[uint64]*entry
	nextTag uint64
	wake    chan struct{} // closed and replaced when messages arrive
	stats   QueueStats
}

// push and notify run with the broker's lock held.
func (q *queue) push(e *entry) {
	if e.attempt == 0 {
		q.stats.Published++
	}
	q.ready = append(q.ready, e)
	q.notify()
}

func (q *queue) notify() {
	close(q.wake)
	q.wake = make(chan struct{})
}

type consumer struct {
	b *Broker
	q *queue
}

func (c *consumer) Receive(ctx context.Context, max int) ([]broker.Delivery, error) {
	max = cmpMax(max)
	for {
		c.b.mu.Lock()
		if c.b.closed {
			c.b.mu.Unlock()
			return nil, broker.ErrClosed
		}
		if n := min(len(c.q.ready), max); n > 0 {
			out := make([]broker.Delivery, n)
			for i, e := range c.q.ready[:n] {
				e.attempt++
				c.q.nextTag++
				e.tag = c.q.nextTag
				c.q.unacked[e.tag] = e
				c.q.stats.Delivered++
				if e.attempt > 1 {
					c.q.stats.Redelivered++
				}
				out[i] = &delivery{c: c, e: e, tag: e.tag, attempt: e.attempt}
			}
			c.q.ready = slices.Delete(c.q.ready, 0, n)
			c.b.mu.Unlock()
			return out, nil
		}
		wake := c.q.wake
		c.b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func cmpMax(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

type delivery struct {
	c       *consumer
	e       *entry
	tag     uint64
	attempt int
}

func (d *delivery) Message() (broker.Message, error) { return d.e.msg, nil }
func (d *delivery) Attempt() int                     { return d.attempt }

// settle removes the delivery from the unacked set; it reports false when
// the delivery was settled before.
func (d *delivery) settle() bool {
	if _, ok := d.c.q.unacked[d.tag]; !ok {
		return false
	}
	delete(d.c.q.unacked, d.tag)
	return true
}

func (d *delivery) Ack(ctx context.Context) error {
	d.c.b.mu.Lock()
	defer d.c.b.mu.Unlock()
	if !d.settle() {
		return fmt.Errorf("broker/memory: delivery %d of %s settled twice", d.tag, d.e.msg.ID)
	}
	d.c.q.stats.Acked++
	return nil
}

func (d *delivery) Retry(ctx context.Context, delay time.Duration) error {
	d.c.b.mu.Lock()
	if !d.settle() {
		d.c.b.mu.Unlock()
		return fmt.Errorf("broker/memory: delivery %d of %s settled twice", d.tag, d.e.msg.ID)
	}
	d.c.b.mu.Unlock()
	requeue := func() {
		d.c.b.mu.Lock()
		defer d.c.b.mu.Unlock()
		d.c.q.push(d.e)
	}
	if delay <= 0 {
		requeue()
	} else {
		time.AfterFunc(delay, requeue)
	}
	return nil
}
