package projection_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/google/uuid"
)

type Deposited struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

type Withdrawn struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

func registry(t testing.TB) *eventstore.Registry {
	t.Helper()
	reg := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Deposited](reg, "Deposited")
	eventstore.MustRegister[Withdrawn](reg, "Withdrawn")
	return reg
}

func appendEvents(t testing.TB, store eventstore.Store, reg *eventstore.Registry, stream string, vs ...any) []eventstore.Position {
	t.Helper()
	events := make([]eventstore.Event, len(vs))
	for i, v := range vs {
		e, err := reg.Encode(v, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		events[i] = e
	}
	res, err := store.Append(context.Background(), stream, eventstore.Any, events...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Positions
}

// balances is an in-memory read model: balance per account, plus how many
// times each event was applied, so doubles and misses show.
type balances struct {
	mem      *projection.MemoryStore
	balance  *projection.Table[string, int]
	applied  *projection.Table[uuid.UUID, int]
	proj     *projection.Projection[*projection.MemoryTx]
	failWhen atomic.Pointer[func(eventstore.RecordedEvent) error]
}

func newBalancesTB(reg *eventstore.Registry, mem *projection.MemoryStore) *balances {
	return newBalances("balances", reg, mem)
}

func newBalances(name string, reg *eventstore.Registry, mem *projection.MemoryStore) *balances {
	b := &balances{mem: mem, balance: projection.NewTable[string, int](mem), applied: projection.NewTable[uuid.UUID, int](mem)}
	p := projection.New[*projection.MemoryTx](name, reg)
	count := func(tx *projection.MemoryTx, rec eventstore.RecordedEvent) error {
		if f := b.failWhen.Load(); f != nil {
			if err := (*f)(rec); err != nil {
				return err
			}
		}
		n, _ := b.applied.GetTx(tx, rec.ID)
		b.applied.Put(tx, rec.ID, n+1)
		return nil
	}
	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e Deposited, rec eventstore.RecordedEvent) error {
		if err := count(tx, rec); err != nil {
			return err
		}
		v, _ := b.balance.GetTx(tx, e.Account)
		b.balance.Put(tx, e.Account, v+e.Amount)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e Withdrawn, rec eventstore.RecordedEvent) error {
		if err := count(tx, rec); err != nil {
			return err
		}
		v, _ := b.balance.GetTx(tx, e.Account)
		b.balance.Put(tx, e.Account, v-e.Amount)
		return nil
	})
	p.OnReset(func(ctx context.Context, tx *projection.MemoryTx) error {
		b.balance.Clear(tx)
		b.applied.Clear(tx)
		return nil
	})
	b.proj = p
	return b
}

func (b *balances) failOn(f func(eventstore.RecordedEvent) error) { b.failWhen.Store(&f) }

// checkOnce asserts every event of store passing the projection's filter was
// applied exactly once.
func (b *balances) checkOnce(t *testing.T, store eventstore.Store) {
	t.Helper()
	applied := b.applied.Snapshot()
	filter := b.proj.Filter()
	want := 0
	for e, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !filter.Match(e.StreamID, e.Type) {
			continue
		}
		want++
		if n := applied[e.ID]; n != 1 {
			t.Fatalf("event %v at %v applied %d times, want 1", e.ID, e.Position, n)
		}
	}
	if len(applied) != want {
		t.Fatalf("%d events applied, want %d", len(applied), want)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func record(t *testing.T, cps projection.CheckpointStore[*projection.MemoryTx], name string) projection.Record {
	t.Helper()
	recs, err := cps.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == name {
			return r
		}
	}
	return projection.Record{}
}

func head(t *testing.T, store eventstore.Store) eventstore.Position {
	t.Helper()
	h, _, err := projection.Head(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func start(t *testing.T, r interface{ Run(context.Context) error }) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

var fast = projection.Config{BatchSize: 64, MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, PollInterval: 10 * time.Millisecond}

func TestCatchUpThenLiveWithConcurrentWriters(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	for i := range 500 {
		appendEvents(t, store, reg, fmt.Sprintf("acct-%d", i%7), Deposited{Account: fmt.Sprint(i % 7), Amount: 10})
	}
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				appendEvents(t, store, reg, fmt.Sprintf("acct-%d", w), Deposited{Account: fmt.Sprint(w), Amount: 1},
					Withdrawn{Account: fmt.Sprint(w), Amount: 1})
				// Other event types and streams are filtered out.
				if i%10 == 0 {
					if _, err := store.Append(context.Background(), "other", eventstore.Any, eventstore.NewEvent("Unrelated", []byte(`{}`))); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	eventually(t, "the projection to reach the last Withdrawn", func() bool {
		return b.applied.Len() == 500+8*200
	})
	b.checkOnce(t, store)
	total := 0
	for _, v := range b.balance.Snapshot() {
		total += v
	}
	if total != 5000 {
		t.Fatalf("sum of balances %d, want 5000", total)
	}
	st, err := r.Status(context.Background())
	if err != nil || len(st) != 1 {
		t.Fatalf("status %+v, %v", st, err)
	}
	if st[0].State != projection.Running || st[0].LagEvents != 0 || st[0].Handled != 2100 || !st[0].Owned {
		t.Fatalf("status %+v", st[0])
	}
}

func TestPoisonEventStopsThenRetryAndSkip(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	for i := range 100 {
		appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: i})
	}
	poison := appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1000})[0]
	for range 50 {
		appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})
	}
	var tries atomic.Int64
	b.failOn(func(e eventstore.RecordedEvent) error {
		if e.Position == poison {
			tries.Add(1)
			return errors.New("bad amount")
		}
		return nil
	})
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "the projection to fail", func() bool { return record(t, mem, "balances").State == projection.Failed })
	rec := record(t, mem, "balances")
	if rec.Failure == nil || rec.Failure.Position != poison || rec.Failure.Attempts != 3 ||
		rec.Failure.Error != "bad amount" || rec.Failure.Stream != "acct-a" || rec.Failure.Version != 101 {
		t.Fatalf("failure %+v", rec.Failure)
	}
	if rec.Checkpoint != (eventstore.Position{Commit: poison.Commit - 1, Prepare: poison.Prepare - 1}) || rec.Handled != 100 {
		t.Fatalf("checkpoint %v handled %d, want just before %v and 100", rec.Checkpoint, rec.Handled, poison)
	}
	if got := tries.Load(); got != 3 {
		t.Fatalf("poison event tried %d times, want 3", got)
	}
	if b.applied.Len() != 100 {
		t.Fatalf("%d events applied, want the 100 before the poison one", b.applied.Len())
	}
	// Still failing: a retry fails again and stops at the same event.
	if err := r.Retry(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried projection to fail again", func() bool { return tries.Load() == 6 && record(t, mem, "balances").State == projection.Failed })
	if err := r.Skip(context.Background(), "nope"); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("skip unknown: %v", err)
	}
	// Skip it: the rest is applied, the poison event never is.
	if err := r.Skip(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the projection to pass the skipped event", func() bool { return b.applied.Len() == 150 })
	if _, ok := b.applied.Snapshot()[rec.Failure.EventID]; ok {
		t.Fatal("the skipped event was applied")
	}
	rec = record(t, mem, "balances")
	if rec.State != projection.Running || rec.Failure != nil || rec.LastError != "bad amount" || rec.Checkpoint != head(t, store) {
		t.Fatalf("after skip: %+v", rec)
	}
	if err := r.Skip(context.Background(), "balances"); !errors.Is(err, projection.ErrNotFailed) {
		t.Fatalf("skip of a running projection: %v", err)
	}
}

func TestRetryAppliesAFixedEvent(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})
	// An event whose payload does not decode is a poison event too.
	if _, err := store.Append(context.Background(), "acct-a", eventstore.Any, eventstore.NewEvent("Deposited", []byte(`{"amount":"x"}`))); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 2})
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "the projection to fail", func() bool { return record(t, mem, "balances").State == projection.Failed })
	rec := record(t, mem, "balances")
	if rec.Failure.Version != 2 || !strings.Contains(rec.Failure.Error, "cannot decode") {
		t.Fatalf("failure %+v", rec.Failure)
	}
	if err := r.Retry(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the projection to fail again", func() bool {
		r := record(t, mem, "balances")
		return r.State == projection.Failed && r.Failure.At.After(rec.Failure.At)
	})
	if err := mem.Skip(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the last event", func() bool { v, _ := b.balance.Get("a"); return v == 3 })
}

func TestRebuildEqualsLive(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	for i := range 3000 {
		appendEvents(t, store, reg, fmt.Sprintf("acct-%d", i%13), Deposited{Account: fmt.Sprint(i % 13), Amount: i})
	}
	cfg := fast
	cfg.RebuildBatchSize = 500
	r, err := projection.NewRunner(store, mem, cfg, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up", func() bool { return b.applied.Len() == 3000 })
	live := b.balance.Snapshot()

	var mu sync.Mutex
	var reports []projection.Progress
	err = r.Rebuild(context.Background(), "balances", projection.RebuildOptions{
		Every: time.Nanosecond,
		Progress: func(p projection.Progress) {
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	last := reports[len(reports)-1]
	mu.Unlock()
	if !last.Done || last.Events != 3000 || last.Position != head(t, store) || last.Head != head(t, store) || len(reports) < 6 {
		t.Fatalf("%d reports, last %+v", len(reports), last)
	}
	for i, p := range reports[1:] {
		if p.Events <= reports[i].Events && !p.Done {
			t.Fatalf("progress did not advance: %+v then %+v", reports[i], p)
		}
	}
	rebuilt := b.balance.Snapshot()
	if fmt.Sprint(rebuilt) != fmt.Sprint(live) {
		t.Fatalf("rebuilt %v, live %v", rebuilt, live)
	}
	b.checkOnce(t, store)
	// Live again after the rebuild.
	appendEvents(t, store, reg, "acct-0", Deposited{Account: "0", Amount: 1})
	eventually(t, "live after rebuild", func() bool { return b.applied.Len() == 3001 })
	if rec := record(t, mem, "balances"); rec.State != projection.Running || rec.Handled != 3001 {
		t.Fatalf("record %+v", rec)
	}
}

func TestRebuildWithoutRunning(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 5}, Withdrawn{Account: "a", Amount: 2})
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rebuild(context.Background(), "balances", projection.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.balance.Get("a"); v != 3 {
		t.Fatalf("balance %d, want 3", v)
	}
	if rec := record(t, mem, "balances"); rec.State != projection.Stopped || rec.Owned {
		t.Fatalf("record %+v", rec)
	}
	if err := r.Rebuild(context.Background(), "nope", projection.RebuildOptions{}); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("rebuild unknown: %v", err)
	}
}

func TestCompetingRunnersShareOneMemoryStore(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	var stops []context.CancelFunc
	for range 3 {
		r, err := projection.NewRunner(store, mem, fast, b.proj)
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, start(t, r))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 100 {
				appendEvents(t, store, reg, fmt.Sprintf("acct-%d", w), Deposited{Account: "x", Amount: 1})
			}
		})
	}
	// Stop runners one after the other while events flow: a standby takes
	// over each time.
	stops[0]()
	wg.Wait()
	eventually(t, "400 events", func() bool { return b.applied.Len() == 400 })
	stops[1]()
	appendEvents(t, store, reg, "acct-0", Deposited{Account: "x", Amount: 1})
	eventually(t, "401 events", func() bool { return b.applied.Len() == 401 })
	b.checkOnce(t, store)
}

func TestNewRunnerReportsEveryMistake(t *testing.T) {
	reg := registry(t)
	mem := projection.NewMemoryStore()
	empty := projection.New[*projection.MemoryTx]("empty", reg)
	bad := projection.New[*projection.MemoryTx]("bad\x00name", reg)
	projection.On(bad, func(context.Context, *projection.MemoryTx, Deposited, eventstore.RecordedEvent) error { return nil })
	projection.On(bad, func(context.Context, *projection.MemoryTx, Deposited, eventstore.RecordedEvent) error { return nil })
	type unregistered struct{}
	projection.On(bad, func(context.Context, *projection.MemoryTx, unregistered, eventstore.RecordedEvent) error { return nil })
	dup1 := newBalances("same", reg, mem).proj
	dup2 := newBalances("same", reg, mem).proj
	_, err := projection.NewRunner(memory.New(memory.Config{}), mem, projection.Config{BatchSize: -1}, empty, bad, dup1, dup2)
	if err == nil {
		t.Fatal("NewRunner accepted broken projections")
	}
	for _, want := range []string{"BatchSize is negative", `"empty" has no handlers`, "invalid name", `two handlers for event type "Deposited"`,
		"unknown event type", `two projections named "same"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, projection.ErrInvalidName) || !errors.Is(err, eventstore.ErrUnknownEventType) {
		t.Errorf("error does not match its sentinels: %v", err)
	}
}

// Rebuild while the runner follows the log live, under concurrent appends,
// with a slow handler: the rebuild succeeds, and every event is applied
// exactly once.
func TestRebuildWhileLive(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	var handled atomic.Int64
	b.failOn(func(eventstore.RecordedEvent) error {
		handled.Add(1)
		time.Sleep(time.Millisecond) // a slow handler
		return nil
	})
	for i := range 200 {
		appendEvents(t, store, reg, fmt.Sprintf("acct-%d", i%7), Deposited{Account: fmt.Sprint(i % 7), Amount: 1})
	}
	cfg := fast
	cfg.RebuildBatchSize = 100
	r, err := projection.NewRunner(store, mem, cfg, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	var writers sync.WaitGroup
	writing := make(chan struct{})
	for w := range 2 {
		writers.Go(func() {
			for {
				select {
				case <-writing:
					return
				default:
				}
				appendEvents(t, store, reg, fmt.Sprintf("acct-w%d", w), Deposited{Account: fmt.Sprint(w), Amount: 1})
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	stopWriters := sync.OnceFunc(func() { close(writing); writers.Wait() })
	t.Cleanup(stopWriters)
	for round := range 3 {
		from := handled.Load()
		eventually(t, "live batches", func() bool { return handled.Load() > from+20 })
		if err := r.Rebuild(context.Background(), "balances", projection.RebuildOptions{}); err != nil {
			t.Fatalf("rebuild %d while live: %v", round, err)
		}
	}
	stopWriters()
	eventually(t, "catch-up after the writers stopped", func() bool {
		rec := record(t, mem, "balances")
		return rec.Checkpoint == head(t, store) && rec.State == projection.Running
	})
	b.checkOnce(t, store)
}

// Under Run, a caller that stops waiting for its rebuild is told that the
// rebuild is incomplete and goes on in the runner, which finishes it.
func TestRebuildCallerStopsWaiting(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	for i := range 100 {
		appendEvents(t, store, reg, fmt.Sprintf("acct-%d", i%3), Deposited{Account: fmt.Sprint(i % 3), Amount: 1})
	}
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up", func() bool { return b.applied.Len() == 100 })
	hold := make(chan struct{})
	var holding atomic.Bool
	holding.Store(true)
	// The caller stops waiting once the replay has begun (a deadline could
	// end before the runner took the request, on a loaded machine).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.failOn(func(eventstore.RecordedEvent) error {
		if holding.Load() {
			cancel()
			<-hold
		}
		return nil
	})
	err = r.Rebuild(ctx, "balances", projection.RebuildOptions{})
	incomplete, ok := errors.AsType[*projection.RebuildIncompleteError](err)
	if !ok || !incomplete.Continues || !errors.Is(err, context.Canceled) || !errors.Is(err, projection.ErrRebuildIncomplete) {
		t.Fatalf("Rebuild = %v, want a *RebuildIncompleteError that goes on", err)
	}
	holding.Store(false)
	close(hold)
	eventually(t, "the rebuild to finish in the runner", func() bool {
		rec := record(t, mem, "balances")
		return rec.State == projection.Running && rec.Handled == 100
	})
	b.checkOnce(t, store)
}
