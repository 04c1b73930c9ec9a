package jetstream_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/jetstream"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
)

func jsProvision(ctx context.Context, nc *nats.Conn, name, prefix string, o StreamOpts) (natsjs.Stream, error) {
	return jetstream.Provision(ctx, nc, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"},
		Duplicates: time.Minute, MaxMsgSize: o.MaxMsgSize, Memory: true})
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

func TestPublishConsumeRoundTrip(t *testing.T) {
	nc, stream, prefix := setup(t, "", StreamOpts{})
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: prefix, Window: 16})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(200, "OrderPlaced")
	msgs[3].TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msgs[4].Subject = "order with spaces, \"quotes\", 100% and €"
	msgs[5].Extensions = map[string]string{"tenant": "acme"}
	for i, err := range publishAll(t, pub, msgs) {
		require.NoError(t, err, "message %d", i)
	}
	require.Equal(t, 0, pub.Pending())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: stream, Durable: "reader"})
	require.NoError(t, err)
	defer cons.Close()
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
		want := msgs[i]
		want.Time = want.Time.UTC()
		require.Equal(t, want, got[i], "message %d: in order and intact", i)
	}
}

func TestDuplicateIsDropped(t *testing.T) {
	nc, stream, prefix := setup(t, "", StreamOpts{})
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: prefix})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(5, "OrderPlaced")
	again := append(slices.Clone(msgs), msgs...)
	for _, err := range publishAll(t, pub, again) {
		require.NoError(t, err, "a duplicate is acknowledged, not refused")
	}
	ids := streamIDs(t, nc, stream)
	require.Len(t, ids, 5, "the server dropped the duplicates")
	for i, m := range msgs {
		require.Equal(t, m.ID, ids[i])
	}
}

func TestTooLargeIsRefused(t *testing.T) {
	nc, _, prefix := setup(t, "", StreamOpts{MaxMsgSize: 1024})
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: prefix})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(3, "OrderPlaced")
	msgs[1].Data = []byte(`"` + string(make([]byte, 0)) + string(slices.Repeat([]byte("x"), 4096)) + `"`)
	errs := publishAll(t, pub, msgs)
	require.NoError(t, errs[0])
	require.True(t, broker.IsPermanent(errs[1]), "too large: %v", errs[1])
	require.ErrorIs(t, errs[1], broker.ErrRefused)
	require.NoError(t, errs[2], "the next message goes through")
}

func TestInvalidMessageIsPermanent(t *testing.T) {
	nc, _, prefix := setup(t, "", StreamOpts{})
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: prefix})
	require.NoError(t, err)
	defer pub.Close()
	c, err := pub.Publish(context.Background(), broker.Message{ID: "x", Source: "/s"})
	require.NoError(t, err)
	<-c.Done()
	require.ErrorIs(t, c.Err(), broker.ErrInvalidMessage)
}

// TestConnectionCutMidPublish cuts the connection while messages are in
// flight: every confirmation resolves (none hangs), and publishing again
// what failed leaves each message in the stream once, nothing lost.
func TestConnectionCutMidPublish(t *testing.T) {
	url := brokertest.RequireNATS(t)
	addr, err := brokertest.HostPort(url, "4222")
	require.NoError(t, err)
	proxy, err := tcpproxy.Start(addr)
	require.NoError(t, err)
	defer proxy.Close()
	nc, stream, prefix := setup(t, proxy.Addr(), StreamOpts{})
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: prefix, Window: 64, AckTimeout: 3 * time.Second})
	require.NoError(t, err)
	defer pub.Close()

	msgs := messages(3000, "OrderPlaced")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	confs := make([]broker.Confirmation, len(msgs))
	cuts := 0
	for i, m := range msgs {
		if i == 1000 || i == 2000 {
			if proxy.Cut() > 0 {
				cuts++
			}
		}
		c, err := pub.Publish(ctx, m)
		if err != nil {
			c = broker.Resolved(err)
		}
		confs[i] = c
	}
	require.Equal(t, 2, cuts)
	todo := msgs[:0:0]
	for i, c := range confs {
		if err := broker.Wait(ctx, c); err != nil {
			require.False(t, broker.IsPermanent(err), "a lost connection is transient: %v", err)
			todo = append(todo, msgs[i])
		}
	}
	t.Logf("%d of %d publishes failed with the cuts; publishing them again", len(todo), len(msgs))
	for attempt := 0; len(todo) > 0; attempt++ {
		require.Less(t, attempt, 50, "messages still failing: %d", len(todo))
		errs := publishAll(t, pub, todo)
		next := todo[:0:0]
		for i, err := range errs {
			if err != nil {
				next = append(next, todo[i])
			}
		}
		todo = next
		if len(todo) > 0 {
			time.Sleep(50 * time.Millisecond) // the client is reconnecting
		}
	}
	ids := streamIDs(t, nc, stream)
	require.Len(t, ids, len(msgs), "each message stored once")
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
	}
	for _, m := range msgs {
		require.True(t, seen[m.ID], "lost %s", m.ID)
	}
}

// TestConnectionCutMidConsume cuts the consumer's connection twice while
// it receives: it carries on, and every message is received and acked;
// those whose ack was lost come again.
func TestConnectionCutMidConsume(t *testing.T) {
	url := brokertest.RequireNATS(t)
	addr, err := brokertest.HostPort(url, "4222")
	require.NoError(t, err)
	proxy, err := tcpproxy.Start(addr)
	require.NoError(t, err)
	defer proxy.Close()
	nc, stream, prefix := setup(t, proxy.Addr(), StreamOpts{})
	direct, _, _ := setupConn(t)
	pub, err := jetstream.NewPublisher(direct, jetstream.PublisherConfig{SubjectPrefix: prefix})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(2000, "OrderPlaced")
	for _, err := range publishAll(t, pub, msgs) {
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cons, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: stream, Durable: "reader", AckWait: 2 * time.Second, Buffer: 100})
	require.NoError(t, err)
	defer cons.Close()
	acked := map[string]int{}
	received, errs := 0, 0
	for len(acked) < len(msgs) {
		ds, err := cons.Receive(ctx, 50)
		if err != nil {
			require.NoError(t, ctx.Err(), "gave up: %d of %d acked", len(acked), len(msgs))
			errs++
			continue
		}
		for _, d := range ds {
			m, err := d.Message()
			require.NoError(t, err)
			received++
			if received == 500 || received == 1200 {
				proxy.Cut()
			}
			if d.Ack(ctx) == nil {
				acked[m.ID]++
			}
		}
	}
	for _, m := range msgs {
		require.Contains(t, acked, m.ID)
	}
	t.Logf("received %d deliveries for %d messages, %d receive errors over the cuts", received, len(msgs), errs)
}

func setupConn(t *testing.T) (*nats.Conn, string, string) {
	nc, err := nats.Connect(brokertest.RequireNATS(t))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc, "", ""
}

func TestConfigValidate(t *testing.T) {
	err := jetstream.PublisherConfig{Window: -1, AckTimeout: -1, SubjectPrefix: "a.b"}.Validate()
	require.Error(t, err)
	for _, s := range []string{"Window", "AckTimeout", "SubjectPrefix"} {
		require.ErrorContains(t, err, s)
	}
	require.Error(t, jetstream.ConsumerConfig{}.Validate())
	_, err = jetstream.NewPublisher(nil, jetstream.PublisherConfig{})
	require.Error(t, err)
}
