package jetstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/jetstream"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/integrationbench"
)

// baseline publishes msgs with nothing but nats.go: PublishMsgAsync with a
// Nats-Msg-Id and the same CloudEvents headers, at most window in flight,
// then waits for every PubAck.
func baseline(b *testing.B, nc *nats.Conn, prefix string, msgs []broker.Message, window int) time.Duration {
	js, err := natsjs.New(nc, natsjs.WithPublishAsyncMaxPending(window))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	futures := make([]natsjs.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		msg := nats.NewMsg(prefix + "." + m.Type)
		msg.Data = m.Data
		for _, a := range m.Attributes() {
			msg.Header.Set("ce-"+a.Name, jetstream.PercentEncode(a.Value))
		}
		f, err := js.PublishMsgAsync(msg, natsjs.WithMsgID(m.ID))
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkRelayThroughput publishes the same events through the relay
// (reading them from the PostgreSQL log, publishing with the adapter,
// checkpointing behind the PubAcks) and through the hand-written
// baseline, in turn, to fresh subjects of one stream; it reports both
// rates and the median of their ratios.
func BenchmarkRelayThroughput(b *testing.B) {
	const per = 10000
	url := brokertest.RequireNATS(b)
	log := integrationbench.NewLog(b)
	rounds := max(b.N, 1)
	events := log.Fill(b, per*2*rounds)
	msgs := integrationbench.Messages(events)
	name := brokertest.Name(b, "bench")
	nc, err := jetstream.Connect(url, name)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	// The relay publishes to <name>r.*, the baseline to <name>b.*.
	if _, err := jetstream.Provision(ctx, nc, jetstream.StreamConfig{Name: name, Subjects: []string{name + "r.>", name + "b.>"},
		Memory: true, Duplicates: 2 * time.Minute}); err != nil {
		b.Fatal(err)
	}
	defer jetstream.DeleteStream(ctx, nc, name)
	const window = 512
	pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: name + "r", Window: window})
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
			tb = baseline(b, nc, name+"b", msgs[mid:hi], window)
		} else {
			tb = baseline(b, nc, name+"b", msgs[mid:hi], window)
			tr = integrationbench.TimeRelay(b, log, pub, events, lo, mid)
		}
		relayRates = append(relayRates, per/tr.Seconds())
		baseRates = append(baseRates, per/tb.Seconds())
		ratios = append(ratios, tb.Seconds()/tr.Seconds())
	}
	b.ReportMetric(integrationbench.Median(relayRates), "relay-msgs/s")
	b.ReportMetric(integrationbench.Median(baseRates), "baseline-msgs/s")
	b.ReportMetric(integrationbench.Median(ratios), "relay/baseline")
}

// BenchmarkEndToEndLatency appends 1,000 events/s for five seconds and
// measures, per event, the time from Append returning to the inbox
// commit that applied it, and logs each run broken down by stage (see
// integrationbench.Spans): PostgreSQL log → relay → JetStream → durable
// pull consumer → inbox on PostgreSQL.
func BenchmarkEndToEndLatency(b *testing.B) {
	url := brokertest.RequireNATS(b)
	var p50, p99 []float64
	for range max(b.N, 1) {
		log := integrationbench.NewLog(b)
		name := brokertest.Name(b, "lat")
		nc, err := jetstream.Connect(url, name)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := jetstream.Provision(ctx, nc, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Memory: true}); err != nil {
			b.Fatal(err)
		}
		pub, err := jetstream.NewPublisher(nc, jetstream.PublisherConfig{SubjectPrefix: name})
		if err != nil {
			b.Fatal(err)
		}
		cons, err := jetstream.NewConsumer(ctx, nc, jetstream.ConsumerConfig{Stream: name, Durable: "lat"})
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
		_ = jetstream.DeleteStream(ctx, nc, name)
		nc.Close()
	}
	b.ReportMetric(integrationbench.Median(p50), "p50-ms")
	b.ReportMetric(integrationbench.Median(p99), "p99-ms")
}
