package rabbitmq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/rabbitmq"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

// setup declares an exchange and a queue of the test's own, bound to
// keys, deleted when the test ends.
func setup(t testing.TB, keys ...string) (url string, topo rabbitmq.Topology) {
	t.Helper()
	url = brokertest.RequireAMQP(t)
	name := brokertest.Name(t, "chr")
	topo = rabbitmq.Topology{Exchange: name, Queues: []rabbitmq.Queue{{Name: name + ".q", Keys: keys}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rabbitmq.Provision(ctx, url, topo))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rabbitmq.Delete(ctx, url, topo); err != nil {
			t.Errorf("delete topology: %v", err)
		}
	})
	return url, topo
}

func proxied(t *testing.T, url string) (string, *tcpproxy.Proxy) {
	t.Helper()
	addr, err := brokertest.HostPort(url, "5672")
	require.NoError(t, err)
	p, err := tcpproxy.Start(addr)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return brokertest.WithHost(url, p.Addr()), p
}

func messages(n int, typ string) []broker.Message {
	out := make([]broker.Message, n)
	for i := range out {
		out[i] = broker.Message{ID: uuid.Must(uuid.NewV7()).String(), Source: "/test", Type: typ,
			Subject: fmt.Sprintf("order-%d", i%7), Time: time.Now().UTC(), DataContentType: broker.ContentTypeJSON,
			Data: fmt.Appendf(nil, `{"n":%d}`, i), Position: eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)},
			StreamVersion: uint64(i/7 + 1), CausationID: fmt.Sprintf("cause-%d", i)}
	}
	return out
}

func publishAll(t *testing.T, p broker.Publisher, msgs []broker.Message) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	confs := make([]broker.Confirmation, len(msgs))
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		c, err := p.Publish(ctx, m)
		if err != nil {
			errs[i] = err
			continue
		}
		confs[i] = c
	}
	for i, c := range confs {
		if c != nil {
			errs[i] = broker.Wait(ctx, c)
		}
	}
	return errs
}

// drain receives until want distinct messages were acked; it returns how
// many deliveries it saw per ID.
func drain(t *testing.T, c broker.Consumer, want int, onDelivery func(n int)) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := map[string]int{}
	acked := map[string]bool{}
	n := 0
	for len(acked) < want {
		ds, err := c.Receive(ctx, 64)
		if err != nil {
			require.NoError(t, ctx.Err(), "gave up with %d of %d acked (last error %v)", len(acked), want, err)
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for _, d := range ds {
			m, err := d.Message()
			require.NoError(t, err)
			seen[m.ID]++
			n++
			if onDelivery != nil {
				onDelivery(n)
			}
			if d.Ack(ctx) == nil {
				acked[m.ID] = true
			}
		}
	}
	return seen
}

func TestPublishConsumeRoundTrip(t *testing.T) {
	url, topo := setup(t, "OrderPlaced")
	pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange, Window: 16})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(200, "OrderPlaced")
	msgs[3].TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msgs[4].Subject = "order with spaces, \"quotes\", 100% and €"
	msgs[5].Extensions = map[string]string{"tenant": "acme"}
	for i, err := range publishAll(t, pub, msgs) {
		require.NoError(t, err, "message %d", i)
	}
	cons, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: url, Queue: topo.Queues[0].Name})
	require.NoError(t, err)
	defer cons.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []broker.Message
	for len(got) < len(msgs) {
		ds, err := cons.Receive(ctx, 64)
		require.NoError(t, err)
		for _, d := range ds {
			m, err := d.Message()
			require.NoError(t, err)
			require.Equal(t, 1, d.Attempt())
			require.NoError(t, d.Ack(ctx))
			got = append(got, m)
		}
	}
	for i := range msgs {
		require.Equal(t, msgs[i], got[i], "message %d: in order and intact", i)
	}
}

func TestHeadersFollowTheBinding(t *testing.T) {
	m := messages(1, "OrderPlaced")[0]
	p := rabbitmq.Encode(m)
	require.Equal(t, "1.0", p.Headers["cloudEvents_specversion"])
	require.Equal(t, m.ID, p.Headers["cloudEvents_id"])
	require.Equal(t, "order-0", p.Headers["cloudEvents_subject"])
	require.NotContains(t, p.Headers, "cloudEvents_datacontenttype", "datacontenttype is the content-type property")
	require.Equal(t, "application/json", p.ContentType)
	require.Equal(t, m.ID, p.MessageId)
	require.Equal(t, amqp.Persistent, p.DeliveryMode)

	// The ':' separator and native types from another producer.
	got, err := rabbitmq.Decode(amqp.Delivery{Headers: amqp.Table{"cloudEvents:specversion": "1.0",
		"cloudEvents:id": "x", "cloudEvents:source": "/s", "cloudEvents:type": "T", "cloudEvents:chronicleversion": int64(7)}})
	require.NoError(t, err)
	require.Equal(t, uint64(7), got.StreamVersion)

	_, err = rabbitmq.Decode(amqp.Delivery{Body: []byte("{}")})
	require.ErrorIs(t, err, broker.ErrInvalidMessage)
}

func TestUnroutableIsRefused(t *testing.T) {
	url, topo := setup(t, "OrderPlaced")
	pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange})
	require.NoError(t, err)
	defer pub.Close()
	msgs := append(messages(2, "OrderPlaced"), messages(1, "NobodyListens")...)
	msgs = append(msgs, messages(2, "OrderPlaced")...)
	errs := publishAll(t, pub, msgs)
	for i, err := range errs {
		if i == 2 {
			require.ErrorIs(t, err, broker.ErrRefused, "unroutable is an error, not a silent loss")
			require.True(t, broker.IsPermanent(err))
			continue
		}
		require.NoError(t, err, "message %d", i)
	}
}

// TestConnectionCutMidPublish cuts the publisher's connection while
// messages are unconfirmed: every confirmation resolves, the publisher
// dials again, and publishing again what failed leaves every message in
// the queue (some twice: at least once).
func TestConnectionCutMidPublish(t *testing.T) {
	url, topo := setup(t)
	purl, proxy := proxied(t, url)
	pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: purl, Exchange: topo.Exchange, Window: 64})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(3000, "OrderPlaced")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	confs := make([]broker.Confirmation, len(msgs))
	for i, m := range msgs {
		if i == 1000 || i == 2000 {
			require.Positive(t, proxy.Cut())
		}
		c, err := pub.Publish(ctx, m)
		if err != nil {
			c = broker.Resolved(err)
		}
		confs[i] = c
	}
	todo := msgs[:0:0]
	for i, c := range confs {
		if err := broker.Wait(ctx, c); err != nil {
			require.False(t, broker.IsPermanent(err), "a lost connection is transient: %v", err)
			todo = append(todo, msgs[i])
		}
	}
	t.Logf("%d of %d publishes failed with the cuts", len(todo), len(msgs))
	require.NotEmpty(t, todo, "the cuts hit messages in flight")
	for attempt := 0; len(todo) > 0; attempt++ {
		require.Less(t, attempt, 50)
		errs := publishAll(t, pub, todo)
		next := todo[:0:0]
		for i, err := range errs {
			if err != nil {
				next = append(next, todo[i])
			}
		}
		todo = next
	}
	cons, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: url, Queue: topo.Queues[0].Name})
	require.NoError(t, err)
	defer cons.Close()
	seen := drain(t, cons, len(msgs), nil)
	for _, m := range msgs {
		require.Positive(t, seen[m.ID], "lost %s", m.ID)
	}
}

// TestConnectionCutMidConsume cuts the consumer's connection twice while
// it receives: Receive dials again, the unacked deliveries come back, and
// every message is acked.
func TestConnectionCutMidConsume(t *testing.T) {
	url, topo := setup(t)
	pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(2000, "OrderPlaced")
	for _, err := range publishAll(t, pub, msgs) {
		require.NoError(t, err)
	}
	purl, proxy := proxied(t, url)
	sdk := telemetrytest.New(t)
	cons, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: purl, Queue: topo.Queues[0].Name, Prefetch: 100, MeterProvider: sdk.MeterProvider})
	require.NoError(t, err)
	defer cons.Close()
	seen := drain(t, cons, len(msgs), func(n int) {
		if n == 500 || n == 1200 {
			proxy.Cut()
		}
	})
	redelivered := 0
	for _, m := range msgs {
		require.Positive(t, seen[m.ID])
		redelivered += seen[m.ID] - 1
	}
	require.Positive(t, redelivered, "the deliveries unacked at the cuts came again")
	lost, _ := sdk.Value(t, rabbitmq.MetricConsumerErrors, "error.type=connection_lost", "messaging.system=rabbitmq",
		"messaging.consumer.group.name="+topo.Queues[0].Name)
	require.Equal(t, 2.0, lost, "each cut counted once")
}

func TestConfigValidate(t *testing.T) {
	err := rabbitmq.PublisherConfig{URL: "http://x", Window: -1}.Validate()
	require.ErrorContains(t, err, "URL")
	require.ErrorContains(t, err, "negative")
	err = rabbitmq.ConsumerConfig{Prefetch: 70000}.Validate()
	require.ErrorContains(t, err, "empty URL")
	require.ErrorContains(t, err, "empty Queue")
	require.ErrorContains(t, err, "Prefetch")
}
