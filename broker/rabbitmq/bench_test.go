package rabbitmq_test

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/rabbitmq"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/integrationbench"
)

// baseline publishes msgs with nothing but amqp091-go: a confirming
// channel, persistent mandatory publishings with the same headers, at most
// window unconfirmed (waiting for the oldest when full), then waits for
// every confirm.
func baseline(b *testing.B, url, exchange string, msgs []broker.Message, window int) time.Duration {
	conn, err := amqp.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	pending := make([]*amqp.DeferredConfirmation, 0, window)
	wait := func(dc *amqp.DeferredConfirmation) {
		if ok, err := dc.WaitContext(context.Background()); err != nil || !ok {
			b.Fatalf("not confirmed: %v", err)
		}
	}
	for _, m := range msgs {
		if len(pending) == window {
			wait(pending[0])
			pending = pending[1:]
		}
		h := amqp.Table{}
		for _, a := range m.Attributes() {
			if a.Name != broker.AttrDataContentType {
				h["cloudEvents_"+a.Name] = a.Value
			}
		}
		dc, err := ch.PublishWithDeferredConfirm(exchange, m.Type, true, false, amqp.Publishing{Headers: h,
			ContentType: m.DataContentType, DeliveryMode: amqp.Persistent, MessageId: m.ID, Type: m.Type, Timestamp: m.Time, Body: m.Data})
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, dc)
	}
	for _, dc := range pending {
		wait(dc)
	}
	return time.Since(start)
}

// BenchmarkRelayThroughput publishes the same events through the relay
// (reading them from the PostgreSQL log, publishing with the adapter,
// checkpointing behind the confirms) and through the hand-written
// baseline, in turn, to one durable queue; it reports both rates and the
// median of their ratios.
func BenchmarkRelayThroughput(b *testing.B) {
	const per = 10000
	url, topo := setup(b)
	log := integrationbench.NewLog(b)
	rounds := max(b.N, 1)
	events := log.Fill(b, per*2*rounds)
	msgs := integrationbench.Messages(events)
	const window = 512
	pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange, Window: window})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	var ratios, relayRates, baseRates []float64
	b.ResetTimer()
	for i := range rounds {
		lo, mid, hi := 2*i*per, 2*i*per+per, 2*(i+1)*per
		var tr, tb time.Duration
		if i%2 == 0 {
			tr = integrationbench.TimeRelay(b, log, pub, events, lo, mid)
			tb = baseline(b, url, topo.Exchange, msgs[mid:hi], window)
		} else {
			tb = baseline(b, url, topo.Exchange, msgs[mid:hi], window)
			tr = integrationbench.TimeRelay(b, log, pub, events, lo, mid)
		}
		relayRates = append(relayRates, per/tr.Seconds())
		baseRates = append(baseRates, per/tb.Seconds())
		ratios = append(ratios, tb.Seconds()/tr.Seconds())
		purge(b, url, topo.Queues[0].Name)
	}
	b.ReportMetric(integrationbench.Median(relayRates), "relay-msgs/s")
	b.ReportMetric(integrationbench.Median(baseRates), "baseline-msgs/s")
	b.ReportMetric(integrationbench.Median(ratios), "relay/baseline")
}

func purge(b *testing.B, url, queue string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueuePurge(queue, false); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEndToEndLatency appends 1,000 events/s for five seconds and
// measures, per event, the time from Append returning to the inbox
// commit that applied it, and logs each run broken down by stage (see
// integrationbench.Spans): PostgreSQL log → relay → RabbitMQ → queue →
// inbox on PostgreSQL.
func BenchmarkEndToEndLatency(b *testing.B) {
	var p50, p99 []float64
	for range max(b.N, 1) {
		url, topo := setup(b)
		log := integrationbench.NewLog(b)
		pub, err := rabbitmq.NewPublisher(rabbitmq.PublisherConfig{URL: url, Exchange: topo.Exchange})
		if err != nil {
			b.Fatal(err)
		}
		cons, err := rabbitmq.NewConsumer(rabbitmq.ConsumerConfig{URL: url, Queue: topo.Queues[0].Name})
		if err != nil {
			b.Fatal(err)
		}
		rep := integrationbench.Latency(b, log, pub, cons, 1000, 5*time.Second)
		rep.Log(b)
		lat := rep.Total()
		p50 = append(p50, float64(integrationbench.Quantile(lat, 0.50).Microseconds())/1000)
		p99 = append(p99, float64(integrationbench.Quantile(lat, 0.99).Microseconds())/1000)
		cons.Close()
		pub.Close()
	}
	b.ReportMetric(integrationbench.Median(p50), "p50-ms")
	b.ReportMetric(integrationbench.Median(p99), "p99-ms")
}

var _ = brokertest.AMQP
