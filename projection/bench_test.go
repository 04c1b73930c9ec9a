package projection_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/projection"
)

// BenchmarkMemoryLiveLatency measures, on the embedded default (memory event
// store, in-memory read model), the time from Append returning to the event
// being visible in the read model.
func BenchmarkMemoryLiveLatency(b *testing.B) {
	reg := registry(b)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	seen := projection.NewTable[int, bool](mem)
	p := projection.New[*projection.MemoryTx]("latency", reg)
	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e Deposited, _ eventstore.RecordedEvent) error {
		seen.Put(tx, e.Amount, true)
		return nil
	})
	r, err := projection.NewRunner(store, mem, projection.Config{}, p)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var lat []time.Duration
	seq := 0
	for b.Loop() {
		seq++
		appendEvents(b, store, reg, "s", Deposited{Account: "a", Amount: seq})
		t0 := time.Now()
		for {
			if _, ok := seen.Get(seq); ok {
				break
			}
			runtime.Gosched()
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
}

// BenchmarkMemoryRebuild replays 100,000 events into two in-memory tables.
func BenchmarkMemoryRebuild(b *testing.B) {
	reg := registry(b)
	store := memory.New(memory.Config{})
	const n = 100_000
	for k := range n / 1000 {
		vs := make([]any, 1000)
		for i := range vs {
			vs[i] = Deposited{Account: strconv.Itoa((k*1000 + i) % 5000), Amount: i}
		}
		appendEvents(b, store, reg, "acct-"+strconv.Itoa(k), vs...)
	}
	b.ResetTimer()
	mem := projection.NewMemoryStore()
	bal := newBalancesTB(reg, mem)
	r, err := projection.NewRunner(store, mem, projection.Config{}, bal.proj)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		start := time.Now()
		if err := r.Rebuild(context.Background(), "balances", projection.RebuildOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
	}
}
