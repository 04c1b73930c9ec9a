package telemetrytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// RunStore checks a store backend's instrumentation: the append span and
// the trace context it stamps on the events, the read spans, and the
// append and conflict counters against conflicts provoked for real.
// newStore returns a fresh store reporting to tp and mp.
func RunStore(t *testing.T, system string, newStore func(t *testing.T, tp trace.TracerProvider, mp metric.MeterProvider) eventstore.Store) {
	t.Run("AppendSpanAndTraceContext", func(t *testing.T) {
		sdk := New(t)
		store := newStore(t, sdk.TracerProvider, sdk.MeterProvider)
		ctx, parent := sdk.Tracer().Start(context.Background(), "caller")
		stream := "order-" + eventstore.NewEventID().String()
		events := []eventstore.Event{eventstore.NewEvent("OrderPlaced", []byte(`{}`)), eventstore.NewEvent("OrderPaid", []byte(`{}`))}
		events[0].Metadata = eventstore.Metadata{CorrelationID: "c-1", Values: map[string]string{"k": "v"}}
		if _, err := store.Append(ctx, stream, eventstore.NoStream, events...); err != nil {
			t.Fatal(err)
		}
		parent.End()
		if events[0].Metadata.Get(telemetry.MetadataTraceParent) != "" {
			t.Fatal("the caller's event was changed")
		}
		appends := sdk.Ended("eventstore.append")
		if len(appends) != 1 {
			t.Fatalf("%d append spans, want 1", len(appends))
		}
		sp := appends[0]
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanKind() != trace.SpanKindClient {
			t.Fatalf("append span parent %v kind %v, want the caller's span, client", sp.Parent().SpanID(), sp.SpanKind())
		}
		for key, want := range map[string]string{"db.system.name": system, "chronicle.stream": stream, "chronicle.event.count": "2",
			"chronicle.expected_version": "no_stream", "chronicle.outcome": "ok", "chronicle.stream.version": "2"} {
			if v, ok := Attr(sp, key); !ok || v.Emit() != want {
				t.Errorf("append span %s = %q, want %q", key, v.Emit(), want)
			}
		}
		want, _ := telemetry.Format(sp.SpanContext())
		n := 0
		for e, err := range store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Metadata.Get(telemetry.MetadataTraceParent); got != want {
				t.Fatalf("event %d: traceparent %q, want the append span's %q", e.Version, got, want)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("read %d events", n)
		}
		reads := sdk.Ended("eventstore.read_stream")
		if len(reads) != 1 {
			t.Fatalf("%d read spans, want 1", len(reads))
		}
		if v, _ := Attr(reads[0], "chronicle.event.count"); v.AsInt64() != 2 {
			t.Fatalf("read span event count %v", v.Emit())
		}
		if v, ok := sdk.Value(t, "chronicle.store.events.read", "chronicle.operation=read_stream"); !ok || v != 2 {
			t.Fatalf("events read %v (%v), want 2", v, ok)
		}

		// Without an SDK and outside any span nothing is stamped.
		bare := newStore(t, tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider())
		if _, err := bare.Append(context.Background(), stream, eventstore.Any, eventstore.NewEvent("X", []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
		for e, err := range bare.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Type == "X" && e.Metadata.Get(telemetry.MetadataTraceParent) != "" {
				t.Fatalf("an event appended outside a span, without an SDK, has a traceparent")
			}
		}
	})

	// Writers race for the next version of one stream: every refusal a
	// writer sees is counted once as a version conflict, every success
	// once as an append.
	t.Run("ConflictCounters", func(t *testing.T) {
		sdk := New(t)
		store := newStore(t, sdk.TracerProvider, sdk.MeterProvider)
		ctx := context.Background()
		stream := "race-" + eventstore.NewEventID().String()
		const writers, rounds = 4, 25
		var mu sync.Mutex
		ok, conflicts, eventIDs := 0, 0, 0
		var wg sync.WaitGroup
		// Each round, every writer reads the version once all appends of
		// the round before are done, then all append at once: one wins,
		// the others conflict, however the goroutines are scheduled.
		read, write := newBarrier(writers), newBarrier(writers)
		for w := range writers {
			wg.Go(func() {
				for r := range rounds {
					read.wait()
					var v uint64
					for e, err := range store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, Limit: 1}) {
						if err == nil {
							v = e.Version
						}
					}
					write.wait()
					_, err := store.Append(ctx, stream, eventstore.Exact(v), eventstore.NewEvent(fmt.Sprintf("W%dR%d", w, r), []byte(`{}`)))
					mu.Lock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, eventstore.ErrDuplicateEventID):
						eventIDs++
					case errors.Is(err, eventstore.ErrConcurrencyConflict):
						conflicts++
					default:
						t.Error(err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// A duplicate event ID, for the event_id kind.
		dup := eventstore.NewEvent("D", []byte(`{}`))
		if _, err := store.Append(ctx, stream+"-a", eventstore.Any, dup); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream+"-b", eventstore.Any, dup); !errors.Is(err, eventstore.ErrDuplicateEventID) {
			t.Fatalf("a duplicate event ID: %v", err)
		}
		eventIDs++
		ok++
		if conflicts != rounds*(writers-1) || ok != rounds+1 {
			t.Fatalf("%d conflicts and %d appends, want %d and %d: one winner per round", conflicts, ok, rounds*(writers-1), rounds+1)
		}
		got := func(name string, attrs ...string) int {
			v, _ := sdk.Value(t, name, attrs...)
			return int(v)
		}
		if c := got("chronicle.store.conflicts", "chronicle.conflict.kind=version"); c != conflicts {
			t.Errorf("version conflicts counted %d, writers saw %d", c, conflicts)
		}
		if c := got("chronicle.store.conflicts", "chronicle.conflict.kind=event_id"); c != eventIDs {
			t.Errorf("event ID conflicts counted %d, writers saw %d", c, eventIDs)
		}
		if c := got("chronicle.store.appends", "chronicle.outcome=ok", "db.system.name="+system); c != ok {
			t.Errorf("appends counted %d, writers saw %d succeed", c, ok)
		}
		if c := got("chronicle.store.appends", "chronicle.outcome=conflict"); c != conflicts+eventIDs {
			t.Errorf("refused appends counted %d, want %d", c, conflicts+eventIDs)
		}
		if c := got("chronicle.store.events.appended"); c != ok {
			t.Errorf("events appended %d, want %d", c, ok)
		}
		if c := got("chronicle.store.append.duration"); c != ok+conflicts+eventIDs {
			t.Errorf("append durations recorded %d, want %d", c, ok+conflicts+eventIDs)
		}
	})
}

// barrier lets n goroutines wait for each other, again and again.
type barrier struct {
	mu    sync.Mutex
	cond  *sync.Cond
	n     int
	count int
	gen   int
}

func newBarrier(n int) *barrier {
	b := &barrier{n: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *barrier) wait() {
	b.mu.Lock()
	defer b.mu.Unlock()
	gen := b.gen
	if b.count++; b.count == b.n {
		b.count, b.gen = 0, b.gen+1
		b.cond.Broadcast()
		return
	}
	for gen == b.gen {
		b.cond.Wait()
	}
}
