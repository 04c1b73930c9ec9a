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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/internal/telemetry"
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
	// [DefaultBuffer]). Up to twice as many may wait in the client (a
	// batch pulled and the batch before, not yet received), and more just
	// after a reconnect, when nats.go pulls a batch again without counting
	// what it holds; never more than MaxAckPending.
	Buffer int
	// MeterProvider counts the consumer's errors
	// (chronicle.broker.consumer.errors; default: the global provider).
	MeterProvider metric.MeterProvider
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
//
// Receive returns the errors nats.go reports while consuming (missed
// heartbeats, a status from the server, messages dropped by a slow
// consumer on the connection) as they come, and counts them
// ([MetricConsumerErrors]); consuming carries on, reconnecting with the
// connection. Once the connection is closed, Receive returns
// [nats.ErrConnectionClosed], then [broker.ErrClosed].
type Consumer struct {
	cfg      ConsumerConfig
	cons     jetstream.Consumer
	nc       *nats.Conn
	errCount metric.Int64Counter
	attrs    []attribute.KeyValue

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
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "broker/jetstream"))
	c := &Consumer{cfg: cfg, cons: cons, nc: nc, msgs: make(chan jetstream.Msg, cfg.Buffer),
		errs: make(chan error, 1), stop: make(chan struct{}), done: make(chan struct{}),
		errCount: b.Counter(MetricConsumerErrors, "{error}",
			"Errors of a broker consumer (lost connection, missed heartbeats, messages dropped by a slow consumer), by consumer and error.type."),
		attrs: []attribute.KeyValue{semconv.MessagingSystemKey.String("nats"), semconv.MessagingConsumerGroupName(cfg.Durable)}}
	watch(nc, c)
	return c, nil
}

// MetricConsumerErrors counts a consumer's errors, with the attributes
// messaging.system, messaging.consumer.group.name (the durable) and
// error.type: slow_consumer (the connection dropped messages of a
// subscription), no_heartbeat, consumer_deleted, connection_closed or
// other.
const MetricConsumerErrors = "chronicle.broker.consumer.errors"

// hubs maps each connection a Consumer reads to the consumers reading it,
// so that the connection's asynchronous errors (a slow consumer dropping
// messages) reach them.
var (
	hubsMu sync.Mutex
	hubs   = map[*nats.Conn]map[*Consumer]struct{}{}
)

// watch registers c for nc's slow-consumer errors. The first consumer of
// a connection installs an error handler that calls the one it replaces
// (nats.go's default prints to standard error) and then reports
// nats.ErrSlowConsumer to every consumer of the connection: nats.go does
// not say which subscription is Consume's, and any dropped message on the
// connection may be one of theirs.
func watch(nc *nats.Conn, c *Consumer) {
	hubsMu.Lock()
	defer hubsMu.Unlock()
	if cs, ok := hubs[nc]; ok {
		cs[c] = struct{}{}
		return
	}
	hubs[nc] = map[*Consumer]struct{}{c: {}}
	prev := nc.ErrorHandler()
	nc.SetErrorHandler(func(conn *nats.Conn, sub *nats.Subscription, err error) {
		if prev != nil {
			prev(conn, sub, err)
		}
		if !errors.Is(err, nats.ErrSlowConsumer) {
			return
		}
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		hubsMu.Lock()
		var cs []*Consumer
		for c := range hubs[nc] {
			cs = append(cs, c)
		}
		hubsMu.Unlock()
		for _, c := range cs {
			c.fail(fmt.Errorf("subscription %q: %w", subject, err))
		}
	})
}

// unwatch removes c; the handler stays installed while the connection is
// open (with no consumer it only calls the one it replaced), and a later
// consumer of the connection reuses it.
func unwatch(nc *nats.Conn, c *Consumer) {
	hubsMu.Lock()
	defer hubsMu.Unlock()
	cs := hubs[nc]
	delete(cs, c)
	if len(cs) == 0 && nc.IsClosed() {
		delete(hubs, nc)
	}
}

// pull hands the consumer's messages to Receive through c.msgs until
// Close, consuming again whenever nats.go's consume loop ends on its own
// (the consumer deleted, the connection closed).
//
// It uses Consume, not Messages: Messages reads from a channel subscription
// whose capacity is exactly the pull batch, and after a reconnect nats.go
// pulls a full batch again while the channel still holds the one before,
// so the client drops messages as a slow consumer, and the server delivers
// them again only after AckWait. Consume's subscription queues without
// that bound (nats.go's async pending limits: 512k messages, 64 MB), and
// its handler blocking on c.msgs is the back-pressure: nats.go counts a
// message as pending, asking for no more, until the handler returns.
func (c *Consumer) pull() {
	defer close(c.done)
	for {
		if c.nc.IsClosed() {
			// For good: Receive returns the error, then broker.ErrClosed.
			c.fail(nats.ErrConnectionClosed)
			return
		}
		cc, err := c.cons.Consume(c.handle, jetstream.PullMaxMessages(c.cfg.Buffer),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if !errors.Is(err, jetstream.ErrConnectionClosed) { // counted once, above
					c.fail(err)
				}
			}))
		if err != nil {
			if !c.nc.IsClosed() {
				c.fail(err)
			}
			if !c.pause() {
				return
			}
			continue
		}
		select {
		case <-c.stop:
			cc.Stop()
			return
		case <-cc.Closed():
			// The error that ended it went to c.fail.
			if !c.pause() {
				return
			}
		}
	}
}

// handle hands m to Receive, blocking while c.msgs is full.
func (c *Consumer) handle(m jetstream.Msg) {
	select {
	case <-c.stop:
		return // Closed: delivered again after AckWait.
	default:
	}
	select {
	case c.msgs <- m:
	case <-c.stop:
		// Delivered again after AckWait.
	}
}

// fail counts err and hands it to Receive (dropping it if one is already
// waiting).
func (c *Consumer) fail(err error) {
	c.errCount.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(c.attrs...)),
		metric.WithAttributes(semconv.ErrorTypeKey.String(errorType(err))))
	select {
	case c.errs <- err:
	default:
	}
}

// pause waits before consuming again; it returns false on Close.
func (c *Consumer) pause() bool {
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
		return true
	}
}

// errorType names err for the error.type attribute.
func errorType(err error) string {
	switch {
	case errors.Is(err, nats.ErrSlowConsumer):
		return "slow_consumer"
	case errors.Is(err, jetstream.ErrNoHeartbeat):
		return "no_heartbeat"
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
		return "consumer_deleted"
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, jetstream.ErrConnectionClosed):
		return "connection_closed"
	}
	return "other"
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
		select {
		case err := <-c.errs:
			return nil, fmt.Errorf("broker/jetstream: receive from %s: %w", c.cfg.Durable, err)
		default:
		}
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
		unwatch(c.nc, c)
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
