package commandtest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Backend is what [Run] runs on: an event store and a snapshot store,
// fresh and empty for each test.
type Backend struct {
	Store     eventstore.Store
	Snapshots aggregate.SnapshotStore
}

// Run runs the command-bus suite on backends made by open, one per
// subtest: a [command.Bus] with the idempotency and conflict-retry
// middleware, in front of handlers that load and save through an
// [aggregate.Repository] on the backend.
//
//   - ConcurrentCommands: 32 goroutines send a command each to one
//     aggregate through a bus with conflict retry; every command is applied
//     exactly once and the final version is 32.
//   - ResendAppendsNothing: re-sending a command ID appends nothing and
//     returns the original result, right away and after the stream moved
//     on; a command that failed is not remembered.
//   - ResendHiddenBySnapshot: the same when a snapshot hides the original
//     events and the handler would now refuse the command.
//   - ConcurrentDuplicates: 16 goroutines send one command at once; all
//     get the same result and it is applied once.
//   - SnapshotLoadReadsTail: loading a 100,000-event aggregate with a
//     snapshot every 100 events reads at most 100 events.
//   - OldSnapshotIgnored: a snapshot of another schema version is ignored
//     and the aggregate is loaded from its events.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("ConcurrentCommands", func(t *testing.T) { testConcurrentCommands(t, open(t)) })
	t.Run("ResendAppendsNothing", func(t *testing.T) { testResend(t, open(t)) })
	t.Run("ResendHiddenBySnapshot", func(t *testing.T) { testResendHidden(t, open(t)) })
	t.Run("ConcurrentDuplicates", func(t *testing.T) { testConcurrentDuplicates(t, open(t)) })
	t.Run("SnapshotLoadReadsTail", func(t *testing.T) { testSnapshotTail(t, open(t)) })
	t.Run("OldSnapshotIgnored", func(t *testing.T) { testOldSnapshot(t, open(t)) })
}

type tally struct {
	aggregate.Root
	Count int `json:"count"`
	Limit int `json:"limit"`
}

type tallyCounted struct {
	N int `json:"n"`
}

type tallyLimited struct {
	Limit int `json:"limit"`
}

type countCmd struct {
	ID string
	N  int
}

type limitCmd struct {
	ID    string
	Limit int
}

var errLimit = errors.New("tally: over the limit")

func (t *tally) Apply(e any) {
	switch e := e.(type) {
	case tallyCounted:
		t.Count += e.N
	case tallyLimited:
		t.Limit = e.Limit
	}
}

// tallyV2 reads the same events into a differently shaped state, with its
// own snapshot schema version.
type tallyV2 struct {
	aggregate.Root
	Count string `json:"count"` // "n=…": a v1 snapshot would not decode into it
}

func (t *tallyV2) Apply(e any) {
	if e, ok := e.(tallyCounted); ok {
		var n int
		fmt.Sscanf(t.Count, "n=%d", &n)
		t.Count = fmt.Sprintf("n=%d", n+e.N)
	}
}

func tallyRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[tallyCounted](r, "TallyCounted")
	eventstore.MustRegister[tallyLimited](r, "TallyLimited")
	return r
}

func tallies(t *testing.T, store eventstore.Store, snaps aggregate.SnapshotStore, every uint64) *aggregate.Repository[*tally] {
	t.Helper()
	cfg := aggregate.Config[*tally]{Type: "tally"}
	if snaps != nil {
		cfg.Snapshots, cfg.SnapshotPolicy = snaps, aggregate.EveryN(every)
	}
	repo, err := aggregate.NewRepository(store, tallyRegistry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func tallyBus(repo *aggregate.Repository[*tally], runs ...*atomic.Int64) *command.Bus {
	count := func(next command.Handler) command.Handler {
		return command.HandlerFunc(func(ctx context.Context, c command.Command) error {
			for _, r := range runs {
				r.Add(1)
			}
			return next.Handle(ctx, c)
		})
	}
	bus, err := command.NewBus(command.Config{Middleware: []command.Middleware{
		command.Metadata(),
		command.Idempotent(),
		command.RetryConflicts(command.RetryConfig{MaxAttempts: 1000, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}),
		count,
	}})
	if err != nil {
		panic(err) // the Config above is valid
	}
	command.MustHandleFunc(bus, func(ctx context.Context, c countCmd) error {
		t, err := repo.LoadOrNew(ctx, c.ID)
		if err != nil {
			return err
		}
		if t.Limit > 0 && t.Count+c.N > t.Limit {
			return errLimit
		}
		runtime.Gosched() // let concurrent commands interleave between load and save
		aggregate.Record(t, tallyCounted{N: c.N})
		_, err = repo.Save(ctx, t)
		return err
	})
	command.MustHandleFunc(bus, func(ctx context.Context, c limitCmd) error {
		t, err := repo.LoadOrNew(ctx, c.ID)
		if err != nil {
			return err
		}
		aggregate.Record(t, tallyLimited{Limit: c.Limit})
		_, err = repo.Save(ctx, t)
		return err
	})
	return bus
}

func readAll(t *testing.T, store eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	for e, err := range store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		out = append(out, e)
	}
	return out
}

func testConcurrentCommands(t *testing.T, b Backend) {
	const writers = 32
	ctx := context.Background()
	repo := tallies(t, b.Store, b.Snapshots, 5)
	var runs atomic.Int64
	bus := tallyBus(repo, &runs)
	ids := make([]uuid.UUID, writers)
	results := make([]command.Result, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		ids[i] = uuid.New()
		wg.Go(func() {
			<-start
			results[i], errs[i] = bus.Send(ctx, command.Command{ID: ids[i], CorrelationID: "race", Payload: countCmd{ID: "one", N: 1}})
		})
	}
	close(start)
	wg.Wait()
	versions := map[uint64]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		r := results[i]
		if r.Replayed || len(r.Appended) != 1 || r.Appended[0].From != r.Appended[0].To {
			t.Fatalf("command %d result %+v", i, r)
		}
		if prev, dup := versions[r.Appended[0].To]; dup {
			t.Fatalf("commands %d and %d both report version %d", prev, i, r.Appended[0].To)
		}
		versions[r.Appended[0].To] = i
	}
	events := readAll(t, b.Store, "tally-one")
	if len(events) != writers {
		t.Fatalf("the stream has %d events, want %d", len(events), writers)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.Metadata.CausationID] {
			t.Fatalf("command %s applied twice", e.Metadata.CausationID)
		}
		seen[e.Metadata.CausationID] = true
		if e.Metadata.CorrelationID != "race" {
			t.Fatalf("event %d correlation %q", e.Version, e.Metadata.CorrelationID)
		}
	}
	for i, id := range ids {
		if !seen[id.String()] {
			t.Fatalf("command %d (%s) was not applied", i, id)
		}
		e := events[results[i].Appended[0].To-1]
		if e.ID != aggregate.EventID(id, "tally-one", 0) || e.Metadata.CausationID != id.String() {
			t.Fatalf("version %d holds %s caused by %s, want command %d's event", e.Version, e.ID, e.Metadata.CausationID, i)
		}
	}
	final, err := repo.Load(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if final.Version() != writers || final.Count != writers {
		t.Fatalf("final version %d, count %d; want %d", final.Version(), final.Count, writers)
	}
	t.Logf("%d commands took %d handler runs (conflicts retried: %d)", writers, runs.Load(), runs.Load()-writers)
}

func testResend(t *testing.T, b Backend) {
	ctx := context.Background()
	repo := tallies(t, b.Store, b.Snapshots, 100)
	bus := tallyBus(repo)
	cmd := command.New(countCmd{ID: "r", N: 1})
	first, err := bus.Send(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	// Right away: the load sees the command's event.
	again, err := bus.Send(ctx, cmd)
	if err != nil || !again.Replayed || !sameResult(first, again) {
		t.Fatalf("re-send = %+v, %v; want the original %+v, replayed", again, err, first)
	}
	// After the stream moved on.
	for range 5 {
		if _, err := bus.Send(ctx, command.New(countCmd{ID: "r", N: 1})); err != nil {
			t.Fatal(err)
		}
	}
	again, err = bus.Send(ctx, cmd)
	if err != nil || !again.Replayed || !sameResult(first, again) {
		t.Fatalf("re-send after 5 more = %+v, %v; want the original %+v", again, err, first)
	}
	if n := len(readAll(t, b.Store, "tally-r")); n != 6 {
		t.Fatalf("the stream has %d events, want 6", n)
	}
	// A command that failed is not remembered: once allowed, it runs.
	if _, err := bus.Send(ctx, command.New(limitCmd{ID: "r", Limit: 6})); err != nil {
		t.Fatal(err)
	}
	refused := command.New(countCmd{ID: "r", N: 1})
	if _, err := bus.Send(ctx, refused); !errors.Is(err, errLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := bus.Send(ctx, command.New(limitCmd{ID: "r", Limit: 0})); err != nil {
		t.Fatal(err)
	}
	if r, err := bus.Send(ctx, refused); err != nil || r.Replayed || len(r.Appended) != 1 {
		t.Fatalf("a once-refused command sent again = %+v, %v", r, err)
	}
}

func sameResult(a, b command.Result) bool {
	if len(a.Appended) != 1 || len(b.Appended) != 1 {
		return false
	}
	x, y := a.Appended[0], b.Appended[0]
	if x.Stream != y.Stream || x.From != y.From || x.To != y.To || len(x.EventIDs) != len(y.EventIDs) || len(x.Positions) != len(y.Positions) {
		return false
	}
	for i := range x.EventIDs {
		if x.EventIDs[i] != y.EventIDs[i] || x.Positions[i] != y.Positions[i] {
			return false
		}
	}
	return true
}

// testResendHidden re-sends a command whose event lies behind the
// aggregate's snapshot, when the handler would now refuse it.
func testResendHidden(t *testing.T, b Backend) {
	ctx := context.Background()
	repo := tallies(t, b.Store, b.Snapshots, 5)
	bus := tallyBus(repo)
	cmd := command.New(countCmd{ID: "h", N: 1})
	first, err := bus.Send(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	for range 12 { // count 1, limit 1: the same count command would be refused now
		if _, err := bus.Send(ctx, command.New(limitCmd{ID: "h", Limit: 1})); err != nil {
			t.Fatal(err)
		}
	}
	if s, ok, err := b.Snapshots.LoadSnapshot(ctx, "tally-h"); err != nil || !ok || s.Version < first.Appended[0].To+5 {
		t.Fatalf("snapshot %+v, %v, %v: want one well after the command", s, ok, err)
	}
	if _, err := bus.Send(ctx, command.New(countCmd{ID: "h", N: 1})); !errors.Is(err, errLimit) {
		t.Fatalf("a new count command: %v, want the limit error", err)
	}
	again, err := bus.Send(ctx, cmd)
	if err != nil || !again.Replayed || !sameResult(first, again) {
		t.Fatalf("re-send = %+v, %v; want the original %+v", again, err, first)
	}
	if n := len(readAll(t, b.Store, "tally-h")); n != 13 {
		t.Fatalf("the stream has %d events, want 13", n)
	}
}

func testConcurrentDuplicates(t *testing.T, b Backend) {
	const senders = 16
	ctx := context.Background()
	repo := tallies(t, b.Store, b.Snapshots, 100)
	bus := tallyBus(repo)
	if _, err := bus.Send(ctx, command.New(countCmd{ID: "d", N: 1})); err != nil {
		t.Fatal(err)
	}
	cmd := command.New(countCmd{ID: "d", N: 1})
	results := make([]command.Result, senders)
	errs := make([]error, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() { results[i], errs[i] = bus.Send(ctx, cmd) })
	}
	wg.Wait()
	for i := range senders {
		if errs[i] != nil {
			t.Fatalf("sender %d: %v", i, errs[i])
		}
		if !sameResult(results[0], results[i]) {
			t.Fatalf("sender %d got %+v, sender 0 %+v", i, results[i], results[0])
		}
	}
	if n := len(readAll(t, b.Store, "tally-d")); n != 2 {
		t.Fatalf("the stream has %d events, want 2", n)
	}
}

// countingStore counts the events ReadStream yields; every call goes to the
// real store.
type countingStore struct {
	eventstore.Store
	read atomic.Int64
}

func (c *countingStore) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		for e, err := range c.Store.ReadStream(ctx, stream, opts) {
			if err == nil {
				c.read.Add(1)
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

func testSnapshotTail(t *testing.T, b Backend) {
	const total, tail = 100_000, 60
	ctx := context.Background()
	writer := tallies(t, b.Store, b.Snapshots, 100)
	a, err := writer.New("big")
	if err != nil {
		t.Fatal(err)
	}
	for done := 0; done < total-tail; {
		for i := 0; i < 997 && done < total-tail; i++ {
			aggregate.Record(a, tallyCounted{N: 1})
			done++
		}
		if _, err := writer.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// The last events come from a writer that takes no snapshots.
	plain := tallies(t, b.Store, nil, 0)
	a, err = plain.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	for range tail {
		aggregate.Record(a, tallyCounted{N: 1})
	}
	if _, err := plain.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.Snapshots.LoadSnapshot(ctx, "tally-big")
	if err != nil || !ok || s.Version != total-tail {
		t.Fatalf("latest snapshot at %d (%v, %v), want %d", s.Version, ok, err, total-tail)
	}
	counting := &countingStore{Store: b.Store}
	reader := tallies(t, counting, b.Snapshots, 100)
	got, err := reader.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if read := counting.read.Load(); read > 100 || read != tail {
		t.Fatalf("loading the %d-event aggregate read %d events, want %d (at most 100)", total, read, tail)
	}
	if got.Version() != total || got.Count != total {
		t.Fatalf("loaded version %d count %d, want %d", got.Version(), got.Count, total)
	}
}

func testOldSnapshot(t *testing.T, b Backend) {
	ctx := context.Background()
	v1 := tallies(t, b.Store, b.Snapshots, 10)
	a, _ := v1.New("old")
	for range 20 {
		aggregate.Record(a, tallyCounted{N: 2})
	}
	if _, err := v1.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if s, ok, _ := b.Snapshots.LoadSnapshot(ctx, "tally-old"); !ok || s.Version != 20 || s.SchemaVersion != 1 {
		t.Fatalf("v1 snapshot %+v", s)
	}
	counting := &countingStore{Store: b.Store}
	v2, err := aggregate.NewRepository(counting, tallyRegistry(), aggregate.Config[*tallyV2]{
		Type: "tally", Snapshots: b.Snapshots, SnapshotPolicy: aggregate.EveryN(10), SnapshotSchema: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != "n=40" || got.Version() != 20 || counting.read.Load() != 20 {
		t.Fatalf("v2 loaded %q at version %d after reading %d events; want n=40 at 20 from all 20 events",
			got.Count, got.Version(), counting.read.Load())
	}
}
