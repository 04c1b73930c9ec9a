package rabbitmq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// DefaultPrefetch is [ConsumerConfig.Prefetch]'s default.
const DefaultPrefetch = 512

// ConsumerConfig configures a [Consumer].
type ConsumerConfig struct {
	// URL is the broker's AMQP URL. Required.
	URL string
	// Queue to consume; it must exist ([Provision]). Required.
	Queue string
	// Prefetch is how many unacked deliveries the broker sends ahead
	// (default [DefaultPrefetch]).
	Prefetch int
	// MeterProvider counts the errors Receive returns
	// (chronicle.broker.consumer.errors; default: the global provider).
	MeterProvider metric.MeterProvider
}

// Validate reports every invalid field at once.
func (c ConsumerConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("broker/rabbitmq: consumer: empty URL"))
	} else if _, err := amqp.ParseURI(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("broker/rabbitmq: consumer: URL: %w", err))
	}
	if c.Queue == "" {
		errs = append(errs, errors.New("broker/rabbitmq: consumer: empty Queue"))
	}
	if c.Prefetch < 0 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("broker/rabbitmq: consumer: Prefetch %d, want 0 to 65535", c.Prefetch))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c ConsumerConfig) withDefaults() ConsumerConfig {
	c.Prefetch = cmp.Or(c.Prefetch, DefaultPrefetch)
	return c
}

// MetricConsumerErrors counts the errors Receive returns, with the
// attributes messaging.system (rabbitmq), messaging.consumer.group.name
// (the queue) and error.type: connection_lost (Receive dials again on the
// next call) or connect (dialling or starting to consume failed).
const MetricConsumerErrors = "chronicle.broker.consumer.errors"

// errConnectionLost: the connection or the channel closed under Receive.
var errConnectionLost = errors.New("connection lost")

// Consumer consumes one queue with manual acks. It implements
// [broker.Consumer]; Close it to stop.
type Consumer struct {
	cfg      ConsumerConfig
	errCount metric.Int64Counter
	attrs    metric.MeasurementOption

	mu         sync.Mutex
	conn       *amqp.Connection
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
	closed     bool
}

var _ broker.Consumer = (*Consumer)(nil)

// NewConsumer returns a consumer; it connects on the first Receive.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "broker/rabbitmq"))
	return &Consumer{cfg: cfg.withDefaults(),
		errCount: b.Counter(MetricConsumerErrors, "{error}",
			"Errors of a broker consumer (lost connection, missed heartbeats, messages dropped by a slow consumer), by consumer and error.type."),
		attrs: metric.WithAttributeSet(attribute.NewSet(semconv.MessagingSystemRabbitMQ, semconv.MessagingConsumerGroupName(cfg.Queue))),
	}, nil
}

// open dials and starts consuming; it runs with mu held.
func (c *Consumer) open(ctx context.Context) error {
	conn, err := dial(ctx, c.cfg.URL)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Qos(c.cfg.Prefetch, 0, false)
	}
	var d <-chan amqp.Delivery
	if err == nil {
		d, err = ch.Consume(c.cfg.Queue, "", false, false, false, false, nil)
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("broker/rabbitmq: consume %s: %w", c.cfg.Queue, err)
	}
	c.conn, c.ch, c.deliveries = conn, ch, d
	return nil
}

// Receive implements [broker.Consumer]. When the connection is lost it
// returns an error; the next call dials again. Its errors are counted
// ([MetricConsumerErrors]).
func (c *Consumer) Receive(ctx context.Context, max int) ([]broker.Delivery, error) {
	ds, err := c.receive(ctx, max)
	if err != nil && ctx.Err() == nil && !errors.Is(err, broker.ErrClosed) {
		typ := "connect"
		if errors.Is(err, errConnectionLost) {
			typ = "connection_lost"
		}
		c.errCount.Add(context.Background(), 1, c.attrs, metric.WithAttributes(semconv.ErrorTypeKey.String(typ)))
	}
	return ds, err
}

func (c *Consumer) receive(ctx context.Context, max int) ([]broker.Delivery, error) {
	if max < 1 {
		max = 1
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, broker.ErrClosed
	}
	if c.deliveries == nil {
		if err := c.open(ctx); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	deliveries, conn := c.deliveries, c.conn
	c.mu.Unlock()
	lost := func() error {
		c.mu.Lock()
		if c.conn == conn {
			c.deliveries = nil
			go conn.Close()
		}
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return broker.ErrClosed
		}
		return fmt.Errorf("broker/rabbitmq: consume %s: %w", c.cfg.Queue, errConnectionLost)
	}
	var first amqp.Delivery
	var ok bool
	select {
	case first, ok = <-deliveries:
		if !ok {
			return nil, lost()
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := []broker.Delivery{newDelivery(first)}
	// The client hands deliveries over one at a time from a goroutine of
	// its own: when none is ready, let it run before ending the batch.
	for idle := 0; len(out) < max && idle < 3; {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return out, nil
			}
			out = append(out, newDelivery(d))
			idle = 0
		default:
			idle++
			runtime.Gosched()
		}
	}
	return out, nil
}

// Close stops consuming and closes the connection; unacked deliveries are
// requeued by the broker.
func (c *Consumer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		c.deliveries = nil
		return c.conn.Close()
	}
	return nil
}

type delivery struct {
	d amqp.Delivery
}

func newDelivery(d amqp.Delivery) *delivery { return &delivery{d: d} }

func (d *delivery) Message() (broker.Message, error) { return Decode(d.d) }

// Attempt reads a quorum queue's x-delivery-count; on a classic queue it
// is 1 for a first delivery and 0 (unknown) for a redelivery.
func (d *delivery) Attempt() int {
	switch n := d.d.Headers["x-delivery-count"].(type) {
	case int64:
		return int(n) + 1
	case int32:
		return int(n) + 1
	}
	if !d.d.Redelivered {
		return 1
	}
	return 0
}

func (d *delivery) Ack(ctx context.Context) error { return d.d.Ack(false) }

func (d *delivery) Retry(ctx context.Context, delay time.Duration) error {
	if delay <= 0 {
		return d.d.Nack(false, true)
	}
	time.AfterFunc(delay, func() { _ = d.d.Nack(false, true) })
	return nil
}
