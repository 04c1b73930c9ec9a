// Package integrationbench holds what the relay benchmarks of both broker
// adapters share: a PostgreSQL log filled with events, a relay timed over
// a range of it, and an end-to-end latency run (append → relay → broker →
// inbox commit) at a steady rate. The hand-written baselines live in each
// adapter's own benchmark, beside the client they call.
package integrationbench

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/inbox"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
)

// Log is a PostgreSQL event store on a test schema.
type Log struct {
	Pool   *pgxpool.Pool
	Schema string
	Events *espg.Store
}

// NewLog returns a migrated event store on a fresh schema.
func NewLog(b testing.TB) *Log {
	pool, schema := pgtest.Pool(b, pgtest.MaxConns(16))
	events, err := espg.New(pool, espg.Config{Schema: schema, PollInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	if err := events.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { events.Close() })
	return &Log{Pool: pool, Schema: schema, Events: events}
}

// Fill appends n events of ~200-byte payloads, 100 per append over 50
// streams, and returns them as recorded, in log order.
func (l *Log) Fill(b testing.TB, n int) []eventstore.RecordedEvent {
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		var evs []eventstore.Event
		for j := i; j < min(i+100, n); j++ {
			evs = append(evs, eventstore.NewEvent("OrderPlaced", fmt.Appendf(nil,
				`{"order_id":"o-%08d","customer":"c-%05d","total":%d,"lines":[{"sku":"sku-%03d","qty":%d,"unit_price":1999}],"note":"benchmark payload"}`,
				j, j%10000, j*7%100000, j%300, 1+j%4)))
		}
		if _, err := l.Events.Append(ctx, fmt.Sprintf("order-%d", (i/100)%50), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	var out []eventstore.RecordedEvent
	for e, err := range l.Events.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Messages maps events the way the relay's default mapping does.
func Messages(events []eventstore.RecordedEvent) []broker.Message {
	out := make([]broker.Message, len(events))
	for i, e := range events {
		out[i] = broker.FromEvent("/bench", e)
	}
	return out
}

// TimeRelay runs a relay over events[from:to] (its checkpoint set to the
// event before from) through pub, and returns how long it took from its
// first publish until its checkpoint reached events[to-1]: the pipeline's
// throughput, without the claim and the subscription's start, which a
// running relay pays once.
func TimeRelay(b testing.TB, log *Log, pub broker.Publisher, events []eventstore.RecordedEvent, from, to int) time.Duration {
	ctx := context.Background()
	state := relay.NewMemoryStore()
	name := fmt.Sprintf("bench-%d-%d", from, to)
	if from > 0 {
		c, err := state.Claim(ctx, name, eventstore.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Advance(ctx, eventstore.Position{}, events[from-1].Position, events[from-1].RecordedAt, 0, nil); err != nil {
			b.Fatal(err)
		}
		c.Release(ctx)
	}
	var first time.Time
	var once sync.Once
	r, err := relay.New(log.Events, state, pub, relay.Config{Name: name, Source: "/bench", BatchSize: 1000, MaxInFlight: 2048,
		CheckpointInterval: 20 * time.Millisecond, Hooks: relay.Hooks{Publish: func(context.Context, eventstore.RecordedEvent, *broker.Message) func(error) {
			once.Do(func() { first = time.Now() })
			return nil
		}}})
	if err != nil {
		b.Fatal(err)
	}
	last := events[to-1].Position
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() { _ = r.Run(runCtx) })
	defer func() { cancel(); wg.Wait() }()
	for {
		recs, _ := state.Records(ctx)
		if len(recs) > 0 && !recs[0].Checkpoint.Before(last) {
			var took time.Duration
			once.Do(func() {}) // first is set: the relay published
			took = time.Since(first)
			return took
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("the relay did not reach %v: %+v", last, recs)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Latency appends one event every 1/rate seconds for d through the
// relay (state in PostgreSQL is not needed for latency: memory) to pub,
// consumes with an inbox on PostgreSQL from cons, and returns the
// latencies from each Append returning to the inbox commit that applied
// its event, sorted.
func Latency(b testing.TB, log *Log, pub broker.Publisher, cons broker.Consumer, rate int, d time.Duration) []time.Duration {
	ctx := context.Background()
	records, err := inboxpg.New(log.Pool, inboxpg.Config{Schema: log.Schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := records.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	appended := map[string]time.Time{}
	committed := map[string]time.Time{}
	in, err := inbox.New(cons, records, inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
		return nil // the record alone: the handler's own work is not the relay's latency
	}), inbox.Config{Name: "latency", BatchSize: 100, Hooks: inbox.Hooks{Committed: func(_ context.Context, ms []broker.Message) {
		now := time.Now()
		mu.Lock()
		for _, m := range ms {
			committed[m.ID] = now
		}
		mu.Unlock()
	}}})
	if err != nil {
		b.Fatal(err)
	}
	head, _, _ := headOf(log.Events)
	state := relay.NewMemoryStore()
	if !head.IsZero() {
		c, _ := state.Claim(ctx, "latency", eventstore.Filter{})
		_ = c.Advance(ctx, eventstore.Position{}, head, time.Now(), 0, nil)
		c.Release(ctx)
	}
	r, err := relay.New(log.Events, state, pub, relay.Config{Name: "latency", Source: "/bench", CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(runCtx) })
	wg.Go(func() { _ = in.Run(runCtx) })
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // both running

	n := int(d.Seconds() * float64(rate))
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		e := eventstore.NewEvent("OrderPlaced", fmt.Appendf(nil, `{"n":%d}`, i))
		if _, err := log.Events.Append(ctx, fmt.Sprintf("latency-%d", i%20), eventstore.Any, e); err != nil {
			b.Fatal(err)
		}
		at := time.Now()
		mu.Lock()
		appended[e.ID.String()] = at
		mu.Unlock()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := 0
		for id := range appended {
			if _, ok := committed[id]; ok {
				got++
			}
		}
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d events arrived", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]time.Duration, 0, n)
	for id, at := range appended {
		out = append(out, committed[id].Sub(at))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Quantile returns the q-quantile of sorted.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// Median returns the median of xs.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func headOf(store eventstore.Store) (eventstore.Position, time.Time, error) {
	for e, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 1}) {
		return e.Position, e.RecordedAt, err
	}
	return eventstore.Position{}, time.Time{}, nil
}
