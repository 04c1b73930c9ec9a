package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/eventstore"
	esmem "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/inbox"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/relay"
)

// An event's trace crosses the broker: the relay's publication is a child
// of the append, the inbox's processing a child of the publication (its
// trace context travels in the message's traceparent), and what the
// consumer appends a child of the processing. A redelivered message is
// counted as a suppressed duplicate.
func TestTraceAcrossTheBroker(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	orders := esmem.New(esmem.Config{TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	shipments := esmem.New(esmem.Config{TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	defer orders.Close()
	defer shipments.Close()
	b := memory.New()
	b.Bind("logistics", "OrderShipmentRequested")
	r, err := relay.New(orders, relay.NewMemoryStore(), b, relay.Config{Name: "orders", Source: "/shop/order",
		Filter: eventstore.Filter{EventTypes: []string{"OrderShipmentRequested"}}, CheckpointInterval: time.Millisecond,
		TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	require.NoError(t, err)
	in, err := inbox.New(b.Consumer("logistics"), inbox.NewMemoryStore(), inbox.HandlerFunc[inbox.MemoryTx](
		func(ctx context.Context, _ inbox.MemoryTx, m broker.Message) error {
			_, err := shipments.Append(ctx, "shipment-"+m.Subject, eventstore.Any, eventstore.NewEvent("ShipmentCreated", []byte(`{}`)))
			return err
		}), inbox.Config{Name: "logistics", TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(runCtx)
	go in.Run(runCtx)

	const n = 4
	var roots []string
	for i := range n {
		pctx, span := sdk.Tracer().Start(ctx, "place order")
		roots = append(roots, span.SpanContext().TraceID().String())
		_, err := orders.Append(pctx, fmt.Sprintf("order-%d", i), eventstore.Any, eventstore.NewEvent("OrderShipmentRequested", []byte(`{}`)))
		require.NoError(t, err)
		span.End()
	}
	deadline := time.Now().Add(30 * time.Second)
	for in.Stats().Applied < n {
		require.True(t, time.Now().Before(deadline), "inbox stats %+v", in.Stats())
		time.Sleep(time.Millisecond)
	}
	// A redelivery, as after a lost ack: suppressed, and counted.
	var first broker.Message
	for e, err := range orders.ReadStream(ctx, "order-0", eventstore.ReadStreamOptions{}) {
		require.NoError(t, err)
		first = broker.FromEvent("/shop/order", e)
	}
	c, err := b.Publish(ctx, first)
	require.NoError(t, err)
	require.NoError(t, broker.Wait(ctx, c))
	for in.Stats().Duplicates < 1 {
		require.True(t, time.Now().Before(deadline), "inbox stats %+v", in.Stats())
		time.Sleep(time.Millisecond)
	}

	spans := sdk.Ended("")
	byID := map[string]int{}
	for i, s := range spans {
		byID[s.SpanContext().SpanID().String()] = i
	}
	parent := func(i int) string {
		if j, ok := byID[spans[i].Parent().SpanID().String()]; ok {
			return spans[j].Name()
		}
		return ""
	}
	perTrace := map[string][]string{}
	for i, s := range spans {
		perTrace[s.SpanContext().TraceID().String()] = append(perTrace[s.SpanContext().TraceID().String()], s.Name())
		switch s.Name() {
		case "send orders":
			require.Equal(t, "eventstore.append", parent(i))
		case "process logistics":
			if parent(i) != "send orders" {
				// The redelivery published by hand carries the append's
				// context, not a relay's.
				require.Equal(t, "eventstore.append", parent(i))
			}
		case "eventstore.append":
			if v, _ := telemetrytest.Attr(s, "chronicle.stream"); len(v.AsString()) > 9 && v.AsString()[:9] == "shipment-" {
				require.Equal(t, "process logistics", parent(i))
			}
		}
	}
	for _, root := range roots {
		names := fmt.Sprint(perTrace[root])
		for _, want := range []string{"place order", "eventstore.append", "send orders", "process logistics"} {
			require.Contains(t, names, want, "trace %s: %s", root, names)
		}
	}
	value := func(name string, attrs ...string) float64 {
		v, _ := sdk.Value(t, name, attrs...)
		return v
	}
	require.Equal(t, float64(n), value("chronicle.relay.messages.published", "chronicle.relay=orders", "chronicle.outcome=ok"))
	require.Equal(t, float64(n), value("chronicle.relay.publish.duration", "chronicle.relay=orders"))
	require.Equal(t, float64(n), value("chronicle.inbox.messages.applied", "chronicle.inbox=logistics"))
	require.Equal(t, float64(1), value("chronicle.inbox.duplicates", "chronicle.inbox=logistics"))
	require.Equal(t, float64(0), value("chronicle.relay.lag", "chronicle.relay=orders"))
}
