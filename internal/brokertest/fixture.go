package brokertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/jetstream"
	"github.com/chronicle-go/chronicle/broker/rabbitmq"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
)

// Fixture is one real broker set up for one test: a stream or exchange
// and a durable consumer or queue of the test's own, deleted when the test
// ends. Tests of the relay and the inbox run against each.
type Fixture struct {
	// Name is "jetstream" or "rabbitmq".
	Name string
	// Spec names the fixture's broker objects ("jetstream:<stream>",
	// "rabbitmq:<exchange>") for a child process's [PublisherFromSpec].
	Spec string
	// Addr is the broker's host:port, to put a tcpproxy in front of.
	Addr string
	// Publisher returns a new publisher connected through addr (the broker
	// itself when empty), closed when the test ends.
	Publisher func(t testing.TB, addr string, window int) broker.Publisher
	// Consumer returns a new consumer of the test's queue or durable
	// consumer through addr (the broker itself when empty), closed when
	// the test ends, and a function that kills its connection at once, as
	// a process that dies would: what it has not acked is delivered
	// again.
	Consumer func(t testing.TB, addr string) (broker.Consumer, func())
}

// Fixtures returns a fixture on each broker; types are the event types
// the consumer takes (every type when none).
func Fixtures(t testing.TB, types ...string) []*Fixture {
	return []*Fixture{JetStream(t, types...), RabbitMQ(t, types...)}
}

// Run runs fn as a subtest per broker.
func Run(t *testing.T, fn func(t *testing.T, f *Fixture), types ...string) {
	for _, name := range []string{"jetstream", "rabbitmq"} {
		t.Run(name, func(t *testing.T) {
			if name == "jetstream" {
				fn(t, JetStream(t, types...))
			} else {
				fn(t, RabbitMQ(t, types...))
			}
		})
	}
}

func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// JetStream sets up a memory stream with a two-minute duplicate window and
// a durable consumer of its own.
func JetStream(t testing.TB, types ...string) *Fixture {
	t.Helper()
	url := RequireNATS(t)
	addr, err := HostPort(url, "4222")
	if err != nil {
		t.Fatal(err)
	}
	name := Name(t, "chr")
	admin, err := jetstream.Connect(url, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	ctx, cancel := withTimeout()
	defer cancel()
	if _, err := jetstream.Provision(ctx, admin, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"},
		Duplicates: 2 * time.Minute, Memory: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := withTimeout()
		defer cancel()
		if err := jetstream.DeleteStream(ctx, admin, name); err != nil {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
	var filter []string
	for _, typ := range types {
		filter = append(filter, name+"."+jetstream.Token(typ))
	}
	connect := func(t testing.TB, through string) string {
		if through == "" {
			return url
		}
		return WithHost(url, through)
	}
	return &Fixture{
		Name: "jetstream",
		Spec: "jetstream:" + name,
		Addr: addr,
		Publisher: func(t testing.TB, through string, window int) broker.Publisher {
			nc, err := jetstream.Connect(connect(t, through), name+"-pub")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			p, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: name, Window: window, AckTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return p
		},
		Consumer: func(t testing.TB, through string) (broker.Consumer, func()) {
			nc, err := jetstream.Connect(connect(t, through), name+"-cons")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			ctx, cancel := withTimeout()
			defer cancel()
			c, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: name, Durable: "inbox",
				FilterSubjects: filter, AckWait: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c, nc.Close
		},
	}
}

// RabbitMQ sets up a topic exchange and a classic queue of its own.
func RabbitMQ(t testing.TB, types ...string) *Fixture {
	t.Helper()
	url := RequireAMQP(t)
	addr, err := HostPort(url, "5672")
	if err != nil {
		t.Fatal(err)
	}
	name := Name(t, "chr")
	topo := rabbitmq.Topology{Exchange: name, Queues: []rabbitmq.Queue{{Name: name + ".inbox", Keys: types}}}
	ctx, cancel := withTimeout()
	defer cancel()
	if err := rabbitmq.Provision(ctx, url, topo); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := withTimeout()
		defer cancel()
		if err := rabbitmq.Delete(ctx, url, topo); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	})
	connect := func(through string) string {
		if through == "" {
			return url
		}
		return WithHost(url, through)
	}
	return &Fixture{
		Name: "rabbitmq",
		Spec: "rabbitmq:" + name,
		Addr: addr,
		Publisher: func(t testing.TB, through string, window int) broker.Publisher {
			p, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: connect(through), Exchange: name, Window: window})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return p
		},
		Consumer: func(t testing.TB, through string) (broker.Consumer, func()) {
			c, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: connect(through), Queue: topo.Queues[0].Name, Prefetch: 256})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c, func() { c.Close() }
		},
	}
}

// Proxy starts a tcpproxy in front of f's broker, closed when the test
// ends.
func (f *Fixture) Proxy(t testing.TB) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.Start(f.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// PublisherFromSpec connects a publisher to the objects a fixture named
// spec set up (for a child process of a test); close releases it.
func PublisherFromSpec(spec string) (p broker.Publisher, close func(), err error) {
	kind, name, _ := strings.Cut(spec, ":")
	switch kind {
	case "jetstream":
		nc, err := jetstream.Connect(NATS(), name+"-child")
		if err != nil {
			return nil, nil, err
		}
		pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: name, AckTimeout: 5 * time.Second})
		if err != nil {
			nc.Close()
			return nil, nil, err
		}
		return pub, func() { pub.Close(); nc.Close() }, nil
	case "rabbitmq":
		pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: AMQP(), Exchange: name})
		if err != nil {
			return nil, nil, err
		}
		return pub, func() { pub.Close() }, nil
	}
	return nil, nil, fmt.Errorf("brokertest: unknown spec %q", spec)
}
