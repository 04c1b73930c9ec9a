package memory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

// A payload and metadata of a typical size: a small JSON document and a
// correlation ID.
var (
	benchPayload  = []byte(`{"order_id":"order-123456","amount":4200,"currency":"EUR","items":3}`)
	benchMetadata = eventstore.Metadata{CorrelationID: "order-123456"}
)

// benchEvents returns n events with IDs already set, as a command handler
// produces them, so that the benchmarks time the store and not ID
// generation.
func benchEvents(n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		evs[i] = eventstore.NewEvent("OrderPlaced", benchPayload)
		evs[i].Metadata = benchMetadata
	}
	return evs
}

// meter reports events per second of wall-clock time ("events/s") and per
// second of the process's CPU time ("events/cpu-s"). Call start right after
// the set-up, and report at the end.
type meter struct {
	b   *testing.B
	cpu time.Duration
	ok  bool
}

func startMeter(b *testing.B) meter {
	b.ReportAllocs()
	b.ResetTimer()
	cpu, ok := processCPUTime()
	return meter{b: b, cpu: cpu, ok: ok}
}

func (m meter) report(events int) {
	m.b.StopTimer()
	m.b.ReportMetric(float64(events)/m.b.Elapsed().Seconds(), "events/s")
	if cpu, ok := processCPUTime(); ok && m.ok && cpu > m.cpu {
		m.b.ReportMetric(float64(events)/(cpu-m.cpu).Seconds(), "events/cpu-s")
	}
}

// BenchmarkAppend appends to 1,000 streams in turn with Exact versions, one
// event or ten per append.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1, 10} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s := memory.New(memory.Config{})
			defer s.Close()
			const streams = 1000
			names := make([]string, streams)
			for i := range names {
				names[i] = fmt.Sprintf("order-%d", i)
			}
			evs := benchEvents(b.N * size)
			m := startMeter(b)
			for i := range b.N {
				stream := i % streams
				if _, err := s.Append(ctx, names[stream], eventstore.Exact(uint64(i/streams*size)), evs[i*size:(i+1)*size]...); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b.N * size)
		})
	}
}

// BenchmarkReadStream reads a whole 10,000-event stream forwards per
// operation.
func BenchmarkReadStream(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	s := memory.New(memory.Config{})
	defer s.Close()
	if _, err := s.Append(ctx, "order-1", eventstore.NoStream, benchEvents(n)...); err != nil {
		b.Fatal(err)
	}
	m := startMeter(b)
	for range b.N {
		count := 0
		for _, err := range s.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d events, want %d", count, n)
		}
	}
	m.report(b.N * n)
}

// BenchmarkReadAll reads a whole 10,000-event global log of 100 streams
// per operation.
func BenchmarkReadAll(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	s := memory.New(memory.Config{})
	defer s.Close()
	evs := benchEvents(n)
	for i := range n / 10 {
		if _, err := s.Append(ctx, fmt.Sprintf("order-%d", i%100), eventstore.Any, evs[i*10:(i+1)*10]...); err != nil {
			b.Fatal(err)
		}
	}
	m := startMeter(b)
	for range b.N {
		count := 0
		for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d events, want %d", count, n)
		}
	}
	m.report(b.N * n)
}

// BenchmarkCalibration times work every append does but the store does not
// control: validating the payload as JSON (encoding/json) and reading the
// clock. On a machine shared with other work, compare the store's numbers
// with these, taken in the same run, rather than with absolute goals.
func BenchmarkCalibration(b *testing.B) {
	b.Run("json.Valid", func(b *testing.B) {
		m := startMeter(b)
		for range b.N {
			if !json.Valid(benchPayload) {
				b.Fatal("invalid")
			}
		}
		m.report(b.N)
	})
	b.Run("time.Now", func(b *testing.B) {
		m := startMeter(b)
		for range b.N {
			_ = time.Now()
		}
		m.report(b.N)
	})
}

// BenchmarkAppendInstrumentation is BenchmarkAppend with chronicle's
// instrumentation switched off and on in alternating blocks of one run
// (see telemetrytest.Overhead): without an OpenTelemetry SDK ("noop"),
// and with one recording every span and metric ("sdk").
func BenchmarkAppendInstrumentation(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		for _, size := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/events=%d", mode, size), func(b *testing.B) {
				cfg := memory.Config{}
				if mode == "sdk" {
					sdk := telemetrytest.NewExporting(b)
					cfg.TracerProvider, cfg.MeterProvider = sdk.TracerProvider, sdk.MeterProvider
				}
				ctx := context.Background()
				s := memory.New(cfg)
				defer s.Close()
				const streams = 1000
				names := make([]string, streams)
				for i := range names {
					names[i] = fmt.Sprintf("order-%d", i)
				}
				evs := benchEvents(b.N * size)
				b.ReportAllocs()
				telemetrytest.Overhead(b, 200, func(i int) {
					if _, err := s.Append(ctx, names[i%streams], eventstore.Exact(uint64(i/streams*size)), evs[i*size:(i+1)*size]...); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
