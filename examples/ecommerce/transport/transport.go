// Package transport opens the broker the e-commerce example's order and
// logistics contexts talk through: NATS JetStream (nats://…) or RabbitMQ
// (amqp://…), with the example's topology — a stream or exchange named
// after the schema, and one durable consumer or queue per inbox, bound to
// the types that inbox reads.
package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/jetstream"
	"github.com/chronicle-go/chronicle/broker/rabbitmq"

	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
)

// queues are the inboxes and the types each reads.
var queues = map[string][]string{
	scenario.LogisticsInbox: {logistics.ShipmentRequestedType},
	scenario.OrderInbox:     logistics.EventTypes,
}

// fromContext names the context each relay publishes from, and readsFrom
// the context each inbox reads.
var (
	fromContext = map[string]string{scenario.OrderRelay: "order", scenario.LogisticsRelay: "logistics"}
	readsFrom   = map[string]string{scenario.LogisticsInbox: "order", scenario.OrderInbox: "logistics"}
)

// Open connects to the broker at url and sets up name's topology (name is a
// plain identifier: the PostgreSQL schema). fresh deletes what an earlier
// run left first: its messages would otherwise be delivered to this run.
func Open(ctx context.Context, url, name string, fresh bool) (*scenario.Transport, error) {
	switch {
	case strings.HasPrefix(url, "nats://"):
		return openNATS(ctx, url, name, fresh)
	case strings.HasPrefix(url, "amqp://"), strings.HasPrefix(url, "amqps://"):
		return openAMQP(ctx, url, name, fresh)
	}
	return nil, fmt.Errorf("-broker %q: want nats://host:port or amqp://user:pass@host:port/", url)
}

func openNATS(ctx context.Context, url, name string, fresh bool) (*scenario.Transport, error) {
	nc, err := jetstream.Connect(url, "ecommerce-"+name)
	if err != nil {
		return nil, err
	}
	stream := "ECOMMERCE_" + strings.ToUpper(name)
	if fresh {
		if err := jetstream.DeleteStream(ctx, nc, stream); err != nil && !strings.Contains(err.Error(), "not found") {
			nc.Close()
			return nil, fmt.Errorf("delete stream %s: %w", stream, err)
		}
	}
	if _, err := jetstream.Provision(ctx, nc, jetstream.StreamConfig{Name: stream, Subjects: []string{name + ".>"}, Duplicates: 2 * time.Minute}); err != nil {
		nc.Close()
		return nil, err
	}
	var closers []func()
	return &scenario.Transport{
		Name: "nats",
		Publisher: func(ctx context.Context, relay string) (broker.Publisher, error) {
			// <name>.<context>.<type>: each inbox filters on one context's
			// subjects (one filter subject works on every server version).
			prefix := name + "." + fromContext[relay] + "."
			p, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{
				Subject: func(m broker.Message) string { return prefix + jetstream.Token(m.Type) }})
			if err == nil {
				closers = append(closers, func() { p.Close() })
			}
			return p, err
		},
		Consumer: func(ctx context.Context, queue string, types []string) (broker.Consumer, error) {
			subject := name + "." + readsFrom[queue] + ".>"
			c, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: stream, Durable: queue, FilterSubjects: []string{subject}, AckWait: 10 * time.Second})
			if err == nil {
				closers = append(closers, func() { c.Close() })
			}
			return c, err
		},
		Close: func() {
			for _, c := range closers {
				c()
			}
			nc.Close()
		},
	}, nil
}

func openAMQP(ctx context.Context, url, name string, fresh bool) (*scenario.Transport, error) {
	topo := rabbitmq.Topology{Exchange: "ecommerce." + name}
	for q, types := range queues {
		topo.Queues = append(topo.Queues, rabbitmq.Queue{Name: topo.Exchange + "." + q, Keys: types})
	}
	if fresh {
		// Deleting what does not exist closes the channel with 404: try
		// each object alone.
		for _, q := range topo.Queues {
			_ = rabbitmq.Delete(ctx, url, rabbitmq.Topology{Queues: []rabbitmq.Queue{q}})
		}
		_ = rabbitmq.Delete(ctx, url, rabbitmq.Topology{Exchange: topo.Exchange})
	}
	// Every queue is declared and bound before anything is published: a
	// message no queue takes is refused (and parked by the relay).
	if err := rabbitmq.Provision(ctx, url, topo); err != nil {
		return nil, err
	}
	var closers []func()
	return &scenario.Transport{
		Name: "amqp",
		Publisher: func(ctx context.Context, relay string) (broker.Publisher, error) {
			p, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange})
			if err == nil {
				closers = append(closers, func() { p.Close() })
			}
			return p, err
		},
		Consumer: func(ctx context.Context, queue string, types []string) (broker.Consumer, error) {
			if _, ok := queues[queue]; !ok {
				return nil, errors.New("transport: unknown queue " + queue)
			}
			c, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: url, Queue: topo.Exchange + "." + queue})
			if err == nil {
				closers = append(closers, func() { c.Close() })
			}
			return c, err
		},
		Close: func() {
			for _, c := range closers {
				c()
			}
		},
	}, nil
}

// Remove deletes name's topology from the broker at url (the stream, or
// the exchange and queues).
func Remove(ctx context.Context, url, name string) error {
	switch {
	case strings.HasPrefix(url, "nats://"):
		nc, err := jetstream.Connect(url, "ecommerce-"+name)
		if err != nil {
			return err
		}
		defer nc.Close()
		return jetstream.DeleteStream(ctx, nc, "ECOMMERCE_"+strings.ToUpper(name))
	default:
		exchange := "ecommerce." + name
		var errs []error
		for q := range queues {
			errs = append(errs, rabbitmq.Delete(ctx, url, rabbitmq.Topology{Queues: []rabbitmq.Queue{{Name: exchange + "." + q}}}))
		}
		errs = append(errs, rabbitmq.Delete(ctx, url, rabbitmq.Topology{Exchange: exchange}))
		return errors.Join(errs...)
	}
}
