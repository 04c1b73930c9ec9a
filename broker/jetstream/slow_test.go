package jetstream_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker/jetstream"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

// TestSlowReceiverDropsNothing receives thousands of pending messages
// slowly, through a connection cut several times: the client library
// must never drop a message for a slow consumer (a dropped message is
// delivered again only after AckWait).
func TestSlowReceiverDropsNothing(t *testing.T) {
	url := brokertest.RequireNATS(t)
	addr, err := brokertest.HostPort(url, "4222")
	require.NoError(t, err)
	proxy, err := tcpproxy.Start(addr)
	require.NoError(t, err)
	defer proxy.Close()
	_, stream, prefix := setup(t, "", StreamOpts{})
	direct, _, _ := setupConn(t)
	pub, err := jetstream.NewPublisher(direct, jetstream.PublisherConfig{SubjectPrefix: prefix})
	require.NoError(t, err)
	defer pub.Close()
	msgs := messages(3000, "OrderPlaced")
	for _, err := range publishAll(t, pub, msgs) {
		require.NoError(t, err)
	}
	var slow atomic.Int64
	nc, err := nats.Connect(brokertest.WithHost(url, proxy.Addr()), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				slow.Add(1)
			}
		}))
	require.NoError(t, err)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cons, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: stream, Durable: "reader", AckWait: 5 * time.Second, Buffer: 64})
	require.NoError(t, err)
	defer cons.Close()
	acked := map[string]bool{}
	received := 0
	for len(acked) < len(msgs) {
		ds, err := cons.Receive(ctx, 10)
		if err != nil {
			if ctx.Err() != nil {
				info, ierr := direct.JetStream()
				require.NoError(t, ierr)
				ci, ierr := info.ConsumerInfo(stream, "reader")
				t.Fatalf("gave up: %d of %d acked; consumer %+v %v", len(acked), len(msgs), ci, ierr)
			}
			t.Logf("receive: %v", err)
			continue
		}
		for _, d := range ds {
			m, err := d.Message()
			require.NoError(t, err)
			received++
			if received%500 == 0 {
				proxy.Cut()
			}
			if d.Ack(ctx) == nil {
				acked[m.ID] = true
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("received %d deliveries for %d messages over %d reconnects", received, len(msgs), nc.Stats().Reconnects)
	require.GreaterOrEqual(t, nc.Stats().Reconnects, uint64(5), "the cuts reconnected")
	require.Zero(t, slow.Load(), "slow consumer: messages dropped")
}

// TestConsumerErrorsAreReported: a slow consumer on the consumer's
// connection and its connection closed under it come out of
// Receive and are counted by error.type.
func TestConsumerErrorsAreReported(t *testing.T) {
	nc, stream, _ := setup(t, "", StreamOpts{})
	var slow atomic.Int64
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrSlowConsumer) {
			slow.Add(1)
		}
	})
	sdk := telemetrytest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: stream, Durable: "reader", MeterProvider: sdk.MeterProvider})
	require.NoError(t, err)
	defer cons.Close()

	// A subscription of the same connection that cannot keep up.
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, make(chan *nats.Msg, 1))
	require.NoError(t, err)
	defer sub.Unsubscribe()
	for range 20 {
		require.NoError(t, nc.Publish(inbox, []byte("x")))
	}
	require.NoError(t, nc.Flush())
	_, err = cons.Receive(ctx, 10)
	require.ErrorIs(t, err, nats.ErrSlowConsumer)
	require.ErrorContains(t, err, inbox)
	require.Positive(t, slow.Load(), "the handler the consumer found still runs")
	n, _ := sdk.Value(t, jetstream.MetricConsumerErrors, "error.type=slow_consumer", "messaging.system=nats", "messaging.consumer.group.name=reader")
	require.Equal(t, 1.0, n)

	nc.Close()
	_, err = cons.Receive(ctx, 10)
	require.True(t, errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, natsjs.ErrConnectionClosed), "%v", err)
	n, _ = sdk.Value(t, jetstream.MetricConsumerErrors, "error.type=connection_closed")
	require.GreaterOrEqual(t, n, 1.0)
}
