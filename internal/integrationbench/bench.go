// Package integrationbench holds what the relay benchmarks of both broker
// adapters share: a PostgreSQL log filled with events, a relay timed over
// a range of it, and an end-to-end latency run (append → relay → broker →
// inbox commit) at a steady rate. The hand-written baselines live in each
// adapter's own benchmark, beside the client they call.
package integrationbench

import (
	"context"
	"fmt"
	"iter"
	"slices"
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

// The stages of one event's way, in the order [Latency] times them.
const (
	StageAppended  = iota // Append returned
	StageDelivered        // the PostgreSQL subscription yielded it to the relay
	StagePublished        // the relay called Publish
	StageSent             // Publish returned (it blocks while the publisher's window is full)
	StageAcked            // the broker acknowledged it (PubAck, confirm)
	StageReceived         // the consumer's Receive returned it to the inbox
	StageCommitted        // the inbox's transaction that applied it committed
	numStages
)

// StageNames name the stages, for reports.
var StageNames = [numStages]string{"appended", "delivered", "published", "sent", "acked", "received", "committed"}

// Span is a part of the way, from one stage to a later one.
type Span struct {
	Name     string
	From, To int
}

// Spans are the parts a latency report breaks the way into: the
// subscription (which may deliver before Append has returned: a negative
// span), the relay's own work, the Publish call, the broker's answer to
// the publisher, the way through the broker to the consumer (alongside
// the answer), the inbox, what follows the log (the relay, the broker and
// the inbox: what the relay and the adapters can make faster), and the
// whole.
var Spans = []Span{
	{"append→delivered", StageAppended, StageDelivered},
	{"delivered→published", StageDelivered, StagePublished},
	{"published→sent", StagePublished, StageSent},
	{"published→acked", StagePublished, StageAcked},
	{"published→received", StagePublished, StageReceived},
	{"received→committed", StageReceived, StageCommitted},
	{"delivered→committed", StageDelivered, StageCommitted},
	{"total", StageAppended, StageCommitted},
}

// Report is one latency run: per event, when it reached each stage.
type Report struct {
	Times [][numStages]time.Time
	// Foreign samples, every 20ms of the run, the age of the oldest
	// transaction holding a transaction ID in the PostgreSQL cluster that
	// is not the benchmark's (0 when there is none): until it ends, every
	// subscription in the cluster waits at its horizon (see
	// docs/postgres.md), so its age is how late the log can reach the
	// relay whatever the relay does.
	Foreign []time.Duration
}

// Durations returns sp's duration for every event, sorted.
func (r *Report) Durations(sp Span) []time.Duration {
	out := make([]time.Duration, 0, len(r.Times))
	for _, t := range r.Times {
		out = append(out, t[sp.To].Sub(t[sp.From]))
	}
	slices.Sort(out)
	return out
}

// Total returns the latencies from Append returning to the inbox commit,
// sorted.
func (r *Report) Total() []time.Duration { return r.Durations(Spans[len(Spans)-1]) }

// Log writes p50, p99 and max of every span.
func (r *Report) Log(b testing.TB) {
	for _, sp := range Spans {
		d := r.Durations(sp)
		b.Logf("%-22s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms", sp.Name, ms(Quantile(d, 0.5)), ms(Quantile(d, 0.99)), ms(d[len(d)-1]))
	}
	f := slices.Sorted(slices.Values(r.Foreign))
	if len(f) > 0 {
		held := 0
		for _, d := range f {
			if d > 0 {
				held++
			}
		}
		b.Logf("%-22s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  (in flight in %d%% of %d samples)", "oldest foreign xact",
			ms(Quantile(f, 0.5)), ms(Quantile(f, 0.99)), ms(f[len(f)-1]), 100*held/len(f), len(f))
	}
}

// sampleForeign samples the age of the oldest transaction with an ID that
// is not of the benchmark's pool (whose application_name is its schema)
// every 20ms until ctx ends.
func sampleForeign(ctx context.Context, log *Log) []time.Duration {
	var out []time.Duration
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
		var sec float64
		err := log.Pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)::float8
			FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND application_name <> $1`, log.Schema).Scan(&sec)
		if err == nil {
			out = append(out, time.Duration(sec*float64(time.Second)))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// marks records when each event (by ID) reached each stage.
type marks struct {
	mu sync.Mutex
	t  map[string]*[numStages]time.Time
}

func (m *marks) mark(id string, stage int, at time.Time) {
	m.mu.Lock()
	t := m.t[id]
	if t == nil {
		t = new([numStages]time.Time)
		m.t[id] = t
	}
	if t[stage].IsZero() { // the first time counts (a redelivery does not)
		t[stage] = at
	}
	m.mu.Unlock()
}

// timedStore marks each event its subscriptions yield.
type timedStore struct {
	eventstore.Store
	m *marks
}

func (s timedStore) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		for e, err := range s.Store.Subscribe(ctx, opts) {
			if err == nil {
				s.m.mark(e.ID.String(), StageDelivered, time.Now())
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// timedPublisher marks each Publish call and the broker's answer.
type timedPublisher struct {
	broker.Publisher
	m *marks
}

func (p timedPublisher) Publish(ctx context.Context, msg broker.Message) (broker.Confirmation, error) {
	p.m.mark(msg.ID, StagePublished, time.Now())
	c, err := p.Publisher.Publish(ctx, msg)
	p.m.mark(msg.ID, StageSent, time.Now())
	if err == nil {
		go func() {
			<-c.Done()
			if c.Err() == nil {
				p.m.mark(msg.ID, StageAcked, time.Now())
			}
		}()
	}
	return c, err
}

// timedConsumer marks each delivery Receive returns.
type timedConsumer struct {
	broker.Consumer
	m *marks
}

func (c timedConsumer) Receive(ctx context.Context, max int) ([]broker.Delivery, error) {
	ds, err := c.Consumer.Receive(ctx, max)
	now := time.Now()
	for _, d := range ds {
		if m, err := d.Message(); err == nil {
			c.m.mark(m.ID, StageReceived, now)
		}
	}
	return ds, err
}

// Latency appends one event every 1/rate seconds for d through the
// relay (state in PostgreSQL is not needed for latency: memory) to pub,
// consumes with an inbox on PostgreSQL from cons, and returns when each
// event reached each stage of its way (see [Spans]).
func Latency(b testing.TB, log *Log, pub broker.Publisher, cons broker.Consumer, rate int, d time.Duration) *Report {
	ctx := context.Background()
	records, err := inboxpg.New(log.Pool, inboxpg.Config{Schema: log.Schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := records.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	m := &marks{t: map[string]*[numStages]time.Time{}}
	in, err := inbox.New(timedConsumer{cons, m}, records, inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, _ broker.Message) error {
		return nil // the record alone: the handler's own work is not the relay's latency
	}), inbox.Config{Name: "latency", BatchSize: 100, Hooks: inbox.Hooks{Committed: func(_ context.Context, ms []broker.Message) {
		now := time.Now()
		for _, msg := range ms {
			m.mark(msg.ID, StageCommitted, now)
		}
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
	r, err := relay.New(timedStore{log.Events, m}, state, timedPublisher{pub, m}, relay.Config{Name: "latency", Source: "/bench"})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(runCtx) })
	wg.Go(func() { _ = in.Run(runCtx) })
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // both running

	sampleCtx, stopSampling := context.WithCancel(ctx)
	foreign := make(chan []time.Duration, 1)
	go func() { foreign <- sampleForeign(sampleCtx, log) }()
	n := int(d.Seconds() * float64(rate))
	ids := make([]string, 0, n)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		e := eventstore.NewEvent("OrderPlaced", fmt.Appendf(nil, `{"n":%d}`, i))
		if _, err := log.Events.Append(ctx, fmt.Sprintf("latency-%d", i%20), eventstore.Any, e); err != nil {
			b.Fatal(err)
		}
		id := e.ID.String()
		m.mark(id, StageAppended, time.Now())
		ids = append(ids, id)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m.mu.Lock()
		got := 0
		for _, id := range ids {
			if t := m.t[id]; t != nil && !t[StageCommitted].IsZero() {
				got++
			}
		}
		m.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d events arrived", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the last acks' goroutines
	stopSampling()
	rep := &Report{Times: make([][numStages]time.Time, 0, n), Foreign: <-foreign}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		t := *m.t[id]
		for st := range t {
			if t[st].IsZero() {
				b.Fatalf("event %s never reached stage %s: %v", id, StageNames[st], t)
			}
		}
		rep.Times = append(rep.Times, t)
	}
	return rep
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
