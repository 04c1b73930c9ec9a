package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chronicle-go/chronicle/broker"
)

// Defaults of [ConsumerConfig]: a zero field takes its default.
const (
	DefaultAckWait       = 30 * time.Second
	DefaultMaxDeliver    = 50
	DefaultMaxAckPending = 4096
	DefaultBuffer        = 512
)

// ConsumerConfig describes the durable pull consumer [NewConsumer] creates
// or updates, and how it is read.
type ConsumerConfig struct {
	// Stream is the stream to consume. Required.
	Stream string
	// Durable names the consumer; every process consuming under one name
	// shares its messages. Required.
	Durable string
	// FilterSubjects narrows the consumer to these subjects (default: the
	// whole stream). More than one needs nats-server 2.10 or later; with an
	// older server use one subject with wildcards.
	FilterSubjects []string
	// AckWait is how long the server waits for an ack before delivering
	// again (default [DefaultAckWait]).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one message (default
	// [DefaultMaxDeliver]): a
	// backstop, as the inbox parks a message that keeps failing well
	// before (see inbox.Config.MaxAttempts).
	MaxDeliver int
	// BackOff spaces redeliveries after an AckWait expiry (default none:
	// AckWait each time).
	BackOff []time.Duration
	// MaxAckPending bounds the messages delivered and not yet acked
	// (default [DefaultMaxAckPending]).
	MaxAckPending int
	// Buffer is how many messages the client pulls ahead (default
	// [DefaultBuffer]).
	Buffer int
}

// Validate reports every invalid field at once.
func (c ConsumerConfig) Validate() error {
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("broker/jetstream: consumer: empty Stream"))
	}
	if c.Durable == "" {
		errs = append(errs, errors.New("broker/jetstream: consumer: empty Durable"))
	}
	if c.AckWait < 0 || c.MaxDeliver < 0 || c.MaxAckPending < 0 || c.Buffer < 0 {
		errs = append(errs, errors.New("broker/jetstream: consumer: negative AckWait, MaxDeliver, MaxAckPending or Buffer"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c ConsumerConfig) withDefaults() ConsumerConfig {
	c.AckWait = cmp.Or(c.AckWait, DefaultAckWait)
	c.MaxDeliver = cmp.Or(c.MaxDeliver, DefaultMaxDeliver)
	c.MaxAckPending = cmp.Or(c.MaxAckPending, DefaultMaxAckPending)
	c.Buffer = cmp.Or(c.Buffer, DefaultBuffer)
	return c
}

// Consumer receives from a durable pull consumer. It implements
// [broker.Consumer]; Close it to stop.
type Consumer struct {
	cfg  ConsumerConfig
	cons jetstream.Consumer

	start sync.Once
	msgs  chan jetstream.Msg
	errs  chan error
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

var _ broker.Consumer = (*Consumer)(nil)

// NewConsumer creates or updates the durable consumer of cfg on nc's
// JetStream and returns a consumer reading it.
func NewConsumer(ctx context.Context, nc *nats.Conn, cfg ConsumerConfig) (*Consumer, error) {
	if nc == nil {
		return nil, errors.New("broker/jetstream: nil connection")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("broker/jetstream: %w", err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		BackOff:       cfg.BackOff,
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if len(cfg.FilterSubjects) == 1 {
		cc.FilterSubject = cfg.FilterSubjects[0]
	} else {
		cc.FilterSubjects = cfg.FilterSubjects
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("broker/jetstream: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Consumer{cfg: cfg, cons: cons, msgs: make(chan jetstream.Msg, cfg.Buffer),
		errs: make(chan error, 1), stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// pull reads the consumer into c.msgs until Close, opening the message
// iterator again whenever it ends (a lost connection).
func (c *Consumer) pull() {
	defer close(c.done)
	for {
		it, err := c.cons.Messages(jetstream.PullMaxMessages(c.cfg.Buffer))
		if err != nil {
			if !c.report(err) {
				return
			}
			continue
		}
		stopped := make(chan struct{})
		go func() {
			select {
			case <-c.stop:
				it.Stop()
			case <-stopped:
			}
		}()
		for {
			m, err := it.Next()
			if err != nil {
				it.Stop()
				close(stopped)
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					select {
					case <-c.stop:
						return
					default:
					}
				}
				if !c.report(err) {
					return
				}
				break
			}
			select {
			case c.msgs <- m:
			case <-c.stop:
				it.Stop()
				close(stopped)
				return
			}
		}
	}
}

// report hands err to Receive (dropping it if one is already waiting) and
// pauses before the iterator is opened again; it returns false on Close.
func (c *Consumer) report(err error) bool {
	select {
	case c.errs <- err:
	default:
	}
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
		return true
	}
}

// Receive implements [broker.Consumer].
func (c *Consumer) Receive(ctx context.Context, max int) ([]broker.Delivery, error) {
	c.start.Do(func() { go c.pull() })
	max = cmpMax(max)
	var first jetstream.Msg
	select {
	case first = <-c.msgs:
	case err := <-c.errs:
		return nil, fmt.Errorf("broker/jetstream: receive from %s: %w", c.cfg.Durable, err)
	case <-c.done:
		return nil, broker.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := []broker.Delivery{newDelivery(first)}
	for len(out) < max {
		select {
		case m := <-c.msgs:
			out = append(out, newDelivery(m))
			continue
		default:
		}
		break
	}
	return out, nil
}

func cmpMax(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// Close stops receiving. Messages pulled and not yet received are
// delivered again by the server after AckWait.
func (c *Consumer) Close() error {
	c.once.Do(func() {
		close(c.stop)
		c.start.Do(func() { close(c.done) })
		<-c.done
	})
	return nil
}

type delivery struct {
	m       jetstream.Msg
	attempt int
}

func newDelivery(m jetstream.Msg) *delivery {
	d := &delivery{m: m}
	if md, err := m.Metadata(); err == nil {
		d.attempt = int(md.NumDelivered)
	}
	return d
}

func (d *delivery) Message() (broker.Message, error) {
	return Decode(&nats.Msg{Subject: d.m.Subject(), Header: d.m.Headers(), Data: d.m.Data()})
}

func (d *delivery) Attempt() int { return d.attempt }

func (d *delivery) Ack(ctx context.Context) error { return d.m.Ack() }

func (d *delivery) Retry(ctx context.Context, delay time.Duration) error {
	if delay <= 0 {
		return d.m.Nak()
	}
	return d.m.NakWithDelay(delay)
}
