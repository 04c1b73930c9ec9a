package saga_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
)

type started struct {
	ID string `json:"id"`
}
type poked struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}
type ping struct{ ID string }
type counter struct{ Pokes int }

func noSend() saga.Sender {
	return saga.SenderFunc(func(context.Context, command.Command) error { return nil })
}

func TestDefinitionValidate(t *testing.T) {
	d := saga.New[counter]("", saga.Options{})
	saga.On(d, "Poked", func(e poked) string { return e.ID }, nil)
	saga.On(d, "", func(e poked) string { return e.ID }, func(context.Context, *saga.Scope[counter], poked) error { return nil })
	d.Step("s", func(counter) any { return nil }).Step("s", func(counter) any { return nil })
	d.OnDeadline("", nil)
	err := d.Validate()
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	for _, want := range []string{"name", "nil correlate or handler", "empty event type", "declared twice", "deadline handler", "no event starts"} {
		assert.ErrorContains(t, err, want)
	}
	_, err = saga.NewEngine(d, nil, nil, nil, saga.Config{BatchSize: -1, RetryMin: time.Minute, RetryMax: time.Second})
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	require.ErrorIs(t, err, saga.ErrInvalidConfig)
	for _, want := range []string{"nil Store", "nil Sender", "BatchSize", "RetryMax"} {
		assert.ErrorContains(t, err, want)
	}

	ok := saga.New[counter]("ok", saga.Options{Events: testEvents()})
	saga.Start(ok, "Started", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	saga.On(ok, "Started", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	require.ErrorContains(t, ok.Validate(), "two handlers for Started")
	assert.ErrorContains(t, d.Validate(), "Options.Events is nil")
}

// testEvents registers the events of these tests.
func testEvents() *eventstore.Registry {
	events := eventstore.NewRegistry(nil)
	eventstore.MustRegister[started](events, "Started")
	eventstore.MustRegister[poked](events, "Poked")
	return events
}

// A handler's event type name is checked against Options.Events: a typo
// would never fire, and a name whose registered type is not the handler's
// would fail on every event. Both are refused by Validate and NewEngine.
func TestDefinitionChecksEventTypeNames(t *testing.T) {
	type unregistered struct{ ID string }
	noop := func(context.Context, *saga.Scope[counter], poked) error { return nil }
	d := saga.New[counter]("names", saga.Options{Events: testEvents()})
	saga.Start(d, "Started", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	saga.On(d, "Pokedd", func(e poked) string { return e.ID }, noop)    // a typo
	saga.On(d, "Started2", func(e started) string { return e.ID }, nil) // collected while building
	saga.On(d, "Poked", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	saga.On(d, "Gone", func(e unregistered) string { return e.ID }, func(context.Context, *saga.Scope[counter], unregistered) error { return nil })
	err := d.Validate()
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	for _, want := range []string{
		`handler for "Pokedd": no such event type in Options.Events (saga_test.poked is registered as "Poked")`,
		`the handler for "Poked" takes saga_test.started, which is registered as "Started"`,
		`handler for "Gone": neither the name nor its type saga_test.unregistered is registered in Options.Events`,
		`Started2: nil correlate or handler`,
	} {
		assert.ErrorContains(t, err, want)
	}
	_, err = saga.NewEngine(d, memory.New(), nil, noSend(), saga.Config{})
	require.ErrorContains(t, err, `"Pokedd"`)

	fixed := saga.New[counter]("names", saga.Options{Events: testEvents()})
	saga.Start(fixed, "Started", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	saga.On(fixed, "Poked", func(e poked) string { return e.ID }, noop)
	require.NoError(t, fixed.Validate())
}

// rig: a memory event store, a memory saga store, and a saga whose "Poked"
// handler fails as told.
type rig struct {
	events *esmemory.Store
	store  *memory.Store
	engine *saga.Engine
	def    *saga.Definition[counter]
	fails  map[int]*atomic.Int32 // poke N → failures left (-1: always)
	pokes  atomic.Int32
}

func newRig(t *testing.T, commands *eventstore.Registry) *rig {
	r := &rig{events: esmemory.New(esmemory.Config{}), store: memory.New(), fails: map[int]*atomic.Int32{}}
	t.Cleanup(func() { _ = r.events.Close() })
	d := saga.New[counter]("pokes", saga.Options{Events: testEvents(), Commands: commands})
	d.Step("one", func(counter) any { return nil })
	saga.Start(d, "Started", func(e started) string { return e.ID }, func(context.Context, *saga.Scope[counter], started) error { return nil })
	saga.On(d, "Poked", func(e poked) string { return e.ID }, func(_ context.Context, s *saga.Scope[counter], e poked) error {
		r.pokes.Add(1)
		if f := r.fails[e.N]; f != nil && f.Load() != 0 {
			f.Add(-1)
			return fmt.Errorf("poke %d refused", e.N)
		}
		switch e.N {
		case 100:
			panic("poke 100 panics")
		case 101:
			s.StepDone("undeclared")
		case 102:
			s.Send(ping{e.ID}) // not registered
		}
		s.State().Pokes++
		return nil
	})
	var err error
	r.def = d
	r.engine, err = saga.NewEngine(d, r.store, r.events, noSend(), saga.Config{HandlerAttempts: 3, HandlerBackoff: time.Microsecond})
	require.NoError(t, err)
	return r
}

func (r *rig) append(t *testing.T, v any, typ, stream string) eventstore.RecordedEvent {
	t.Helper()
	data, err := eventstore.JSONCodec{}.Marshal(v)
	require.NoError(t, err)
	_, err = r.events.Append(t.Context(), stream, eventstore.Any, eventstore.NewEvent(typ, data))
	require.NoError(t, err)
	var last eventstore.RecordedEvent
	for e, err := range r.events.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, Limit: 1}) {
		require.NoError(t, err)
		last = e
	}
	return last
}

func TestHandlerRetriedThenParked(t *testing.T) {
	r := newRig(t, nil)
	ctx := t.Context()
	r.fails[1] = &atomic.Int32{}
	r.fails[1].Store(2) // fails twice, then succeeds: within HandlerAttempts
	r.fails[2] = &atomic.Int32{}
	r.fails[2].Store(-1) // always fails
	evs := []eventstore.RecordedEvent{
		r.append(t, started{"a"}, "Started", "s-a"),
		r.append(t, poked{"a", 1}, "Poked", "s-a"),
		r.append(t, poked{"a", 2}, "Poked", "s-a"),
		r.append(t, poked{"a", 3}, "Poked", "s-a"),
		r.append(t, poked{"a", 100}, "Poked", "s-a"),
		r.append(t, poked{"a", 101}, "Poked", "s-a"),
		r.append(t, poked{"a", 102}, "Poked", "s-a"),
		r.append(t, poked{"nobody", 4}, "Poked", "s-b"), // no instance: skipped
	}
	require.NoError(t, r.engine.HandleEvents(ctx, evs...))

	h, err := r.engine.History(ctx, "a")
	require.NoError(t, err)
	assert.JSONEq(t, `{"Pokes":2}`, string(h.Instance.State), "pokes 1 and 3 applied")
	assert.Equal(t, saga.Running, h.Instance.Status)
	assert.Equal(t, evs[6].Position, h.Instance.Position)

	parked, err := r.engine.Parked(ctx)
	require.NoError(t, err)
	require.Len(t, parked, 4)
	want := []struct {
		ev  eventstore.RecordedEvent
		msg string
	}{{evs[2], "poke 2 refused"}, {evs[4], "panicked: poke 100 panics"}, {evs[5], `StepDone("undeclared")`}, {evs[6], "Options.Commands is nil"}}
	for i, w := range want {
		assert.Equal(t, w.ev.ID, parked[i].EventID)
		assert.Equal(t, "a", parked[i].Instance)
		assert.Equal(t, 3, parked[i].Attempts)
		assert.Contains(t, parked[i].Error, w.msg)
	}
	var kinds []saga.HistoryKind
	for _, e := range h.Entries {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []saga.HistoryKind{saga.EventHandled, saga.EventHandled, saga.EventParked, saga.EventHandled,
		saga.EventParked, saga.EventParked, saga.EventParked}, kinds)
	// 1 start + poke 1 three times + poke 2 three times + poke 3 + three each for 100-102.
	assert.Equal(t, int32(3+3+1+9), r.pokes.Load())
}

func TestRunFollowsTheLogFromTheCheckpoint(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.engine.Run(ctx) }()
	r.append(t, started{"a"}, "Started", "s-a")
	r.append(t, poked{"a", 1}, "Poked", "s-a")
	waitState(t, r.engine, "a", `{"Pokes":1}`)
	cancel()
	<-done
	assert.False(t, r.engine.Owner())

	// Started again, the engine resumes after its checkpoint: the first
	// poke is not applied again.
	r.append(t, poked{"a", 2}, "Poked", "s-a")
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	go func() { _ = r.engine.Run(ctx2) }()
	waitState(t, r.engine, "a", `{"Pokes":2}`)
	pos, err := r.store.Checkpoint(t.Context(), "pokes")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), pos.Commit)
}

// flakyStore fails every commit while broken is set, and hands out leases
// whose loss the test controls.
type flakyStore struct {
	*memory.Store
	broken   atomic.Bool
	failures atomic.Int32
	leases   chan *lostLease
}

func (s *flakyStore) Commit(ctx context.Context, c saga.Commit) error {
	if s.broken.Load() {
		s.failures.Add(1)
		return errors.New("connection reset by peer")
	}
	return s.Store.Commit(ctx, c)
}

func (s *flakyStore) Acquire(ctx context.Context, name string) (saga.Lease, error) {
	l, err := s.Store.Acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	ll := &lostLease{Lease: l, lost: make(chan struct{}), released: make(chan struct{})}
	s.leases <- ll
	return ll, nil
}

type lostLease struct {
	saga.Lease
	lost, released chan struct{}
	once           sync.Once
}

func (l *lostLease) Lost() <-chan struct{} { return l.lost }
func (l *lostLease) Release(ctx context.Context) error {
	l.once.Do(func() { close(l.released) })
	return l.Lease.Release(ctx)
}

// A batch whose commit keeps failing is retried with back-off; losing the
// lease meanwhile ends the retries at once (not after the back-off), the
// lease is given up and the engine acquires it again and goes on.
func TestLeaseLostDuringCommitRetries(t *testing.T) {
	r := newRig(t, nil)
	store := &flakyStore{Store: r.store, leases: make(chan *lostLease, 4)}
	store.broken.Store(true)
	// Back-off of an hour: only the lease's loss can end the wait in time.
	e, err := saga.NewEngine(r.def, store, r.events, noSend(), saga.Config{RetryMin: time.Hour, RetryMax: time.Hour, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := <-store.leases
	r.append(t, started{"a"}, "Started", "s-a")
	r.append(t, poked{"a", 1}, "Poked", "s-a")
	hang := time.After(30 * time.Second) // a hang detector, not a timing assertion
	for store.failures.Load() == 0 {
		select {
		case <-hang:
			t.Fatal("no commit was tried")
		case <-time.After(time.Millisecond):
		}
	}
	store.broken.Store(false)
	close(first.lost)
	select {
	case <-first.released:
	case <-hang:
		t.Fatal("the engine kept waiting to retry a batch under a lost lease")
	}
	select {
	case <-store.leases:
	case <-hang:
		t.Fatal("the engine did not acquire the lease again")
	}
	waitState(t, e, "a", `{"Pokes":1}`)
}

func waitState(t *testing.T, e *saga.Engine, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := e.History(t.Context(), id)
		if err == nil && string(h.Instance.State) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: state %s, err %v; want %s", id, h.Instance.State, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestManualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	c := saga.NewManualClock(start)
	assert.Equal(t, start.Truncate(time.Microsecond), c.Now())
	assert.Equal(t, start.Add(time.Hour).Truncate(time.Microsecond), c.Advance(time.Hour))
	c.Set(start)
	assert.Equal(t, start.Truncate(time.Microsecond), c.Now())
}

func TestCommandID(t *testing.T) {
	a := saga.CommandID("s", "i", 1)
	assert.Equal(t, a, saga.CommandID("s", "i", 1), "deterministic")
	assert.NotEqual(t, a, saga.CommandID("s", "i", 2))
	assert.NotEqual(t, a, saga.CommandID("s", "i1", 1))
	assert.NotEqual(t, saga.CommandID("s", "a", 11), saga.CommandID("s", "a1", 1), "parts are separated")
	assert.Equal(t, uint8(5), uint8(a.Version()))
}
