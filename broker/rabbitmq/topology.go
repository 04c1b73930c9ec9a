package rabbitmq

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Topology is what [Provision] declares: a durable topic exchange and
// durable queues bound to it.
type Topology struct {
	// Exchange is the topic exchange's name (default [DefaultExchange]).
	Exchange string
	Queues   []Queue
}

// Queue is one durable queue and the routing keys (event types) bound to
// it; no keys binds "#": every message.
type Queue struct {
	Name string
	Keys []string
	// Quorum declares a quorum queue (replicated, counting deliveries)
	// instead of a classic one.
	Quorum bool
}

// Provision declares t on the broker at url. Declaring what exists with
// the same properties is a no-op.
func Provision(ctx context.Context, url string, t Topology) error {
	return withChannel(ctx, url, func(ch *amqp.Channel) error {
		ex := t.Exchange
		if ex == "" {
			ex = DefaultExchange
		}
		if err := ch.ExchangeDeclare(ex, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return fmt.Errorf("broker/rabbitmq: declare exchange %s: %w", ex, err)
		}
		for _, q := range t.Queues {
			if q.Name == "" {
				return errors.New("broker/rabbitmq: a queue without a name")
			}
			var args amqp.Table
			if q.Quorum {
				args = amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}
			}
			if _, err := ch.QueueDeclare(q.Name, true, false, false, false, args); err != nil {
				return fmt.Errorf("broker/rabbitmq: declare queue %s: %w", q.Name, err)
			}
			keys := q.Keys
			if len(keys) == 0 {
				keys = []string{"#"}
			}
			for _, k := range keys {
				if err := ch.QueueBind(q.Name, k, ex, false, nil); err != nil {
					return fmt.Errorf("broker/rabbitmq: bind %s to %s with %q: %w", q.Name, ex, k, err)
				}
			}
		}
		return nil
	})
}

// Delete removes t's queues and exchange (for tests and tear-down).
func Delete(ctx context.Context, url string, t Topology) error {
	return withChannel(ctx, url, func(ch *amqp.Channel) error {
		var errs []error
		for _, q := range t.Queues {
			if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
				errs = append(errs, err)
			}
		}
		if t.Exchange != "" {
			if err := ch.ExchangeDelete(t.Exchange, false, false); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

func withChannel(ctx context.Context, url string, fn func(*amqp.Channel) error) error {
	conn, err := dial(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("broker/rabbitmq: channel: %w", err)
	}
	defer ch.Close()
	return fn(ch)
}
