package eventstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Options sizes the suite and tells it about the store under test. The zero
// value gives the defaults [Run] uses.
type Options struct {
	// Limits are the limits the store enforces; zero fields mean the
	// defaults of [eventstore.Limits]. The bad-input cases build stream IDs
	// and events just over them.
	Limits eventstore.Limits
	// RaceWriters goroutines race Exact(n) appends on one stream for
	// RaceRounds rounds. Defaults: 16 and 1,000.
	RaceWriters int
	RaceRounds  int
	// SubscribeWriters goroutines append SubscribeEvents events in all while
	// subscribers and readers follow the log. Defaults: 8 and 10,000.
	SubscribeWriters int
	SubscribeEvents  int
	// Timeout bounds each wait for an event that must arrive (a live event,
	// the end of a cancelled subscription), so that a broken store fails
	// instead of hanging. It is not a performance assertion. Default: 60s.
	Timeout time.Duration
	// Idempotency is the scope in which the store recognises a stored event
	// ID; the zero value, [IdempotencyStore], is the whole contract.
	Idempotency IdempotencyScope
	// DeadlineAppends appends run one after another, each under a random
	// deadline of 0 to 40 ms, to check that an append's outcome is told
	// truthfully. Default: 200.
	DeadlineAppends int
}

// IdempotencyScope says where a backend looks for an append's event IDs
// when it tells an idempotent retry from a conflict (see [eventstore.Store]).
// A backend declares its scope in [Options]; the suite then expects the
// conflicts that scope can detect, and only the weaker promise elsewhere.
type IdempotencyScope uint8

const (
	// IdempotencyStore: an event ID is unique in the whole store. A stored
	// ID reused in any other place, another stream included, is a
	// [*eventstore.ConflictError] with EventID set. This is the contract,
	// and what the memory and PostgreSQL stores do.
	IdempotencyStore IdempotencyScope = iota
	// IdempotencyStream: event IDs are recognised within a stream only, as
	// EventStoreDB and KurrentDB promise. An append that reuses an ID
	// stored in another stream may be written as a new event; the suite
	// then accepts either a conflict naming the ID or an append that wrote
	// exactly the events it carried, in its own stream, never a "retry"
	// answered with the other stream's result.
	IdempotencyStream
)

func (s IdempotencyScope) String() string {
	switch s {
	case IdempotencyStore:
		return "store"
	case IdempotencyStream:
		return "stream"
	}
	return fmt.Sprintf("IdempotencyScope(%d)", uint8(s))
}

// Defaults used by [Run].
const (
	DefaultRaceWriters      = 16
	DefaultRaceRounds       = 1000
	DefaultSubscribeWriters = 8
	DefaultSubscribeEvents  = 10_000
	DefaultTimeout          = 60 * time.Second
	DefaultDeadlineAppends  = 200
)

// Validate reports every negative size at once.
func (o Options) Validate() error {
	var errs []error
	check := func(name string, v int) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("eventstoretest: %s is %d, want 0 (the default) or more", name, v))
		}
	}
	check("RaceWriters", o.RaceWriters)
	check("RaceRounds", o.RaceRounds)
	check("SubscribeWriters", o.SubscribeWriters)
	check("SubscribeEvents", o.SubscribeEvents)
	check("DeadlineAppends", o.DeadlineAppends)
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("eventstoretest: Timeout is %v, want 0 (the default) or more", o.Timeout))
	}
	if o.Idempotency > IdempotencyStream {
		errs = append(errs, fmt.Errorf("eventstoretest: unknown Idempotency %v", o.Idempotency))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.WithDefaults()
	if o.RaceWriters == 0 {
		o.RaceWriters = DefaultRaceWriters
	}
	if o.RaceRounds == 0 {
		o.RaceRounds = DefaultRaceRounds
	}
	if o.SubscribeWriters == 0 {
		o.SubscribeWriters = DefaultSubscribeWriters
	}
	if o.SubscribeEvents == 0 {
		o.SubscribeEvents = DefaultSubscribeEvents
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DeadlineAppends == 0 {
		o.DeadlineAppends = DefaultDeadlineAppends
	}
	return o
}

// Run runs the whole conformance suite with the default [Options]. newStore
// must return a new, empty store each time it is called; it is called inside
// each subtest, with that subtest's t.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	RunWithOptions(t, newStore, Options{})
}

// RunWithOptions runs the whole conformance suite, sized by opts.
func RunWithOptions(t *testing.T, newStore func(t *testing.T) eventstore.Store, opts Options) {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &suite{newStore: newStore, opts: opts.withDefaults()}
	t.Run("ExpectedVersion", s.testExpectedVersion)
	t.Run("AtomicAppend", s.testAtomicAppend)
	t.Run("Idempotency", s.testIdempotency)
	t.Run("ReadStream", s.testReadStream)
	t.Run("ReadAll", s.testReadAll)
	t.Run("RoundTrip", s.testRoundTrip)
	t.Run("Subscribe", s.testSubscribe)
	t.Run("Cancellation", s.testCancellation)
	t.Run("InvalidInput", s.testInvalidInput)
	t.Run("Concurrency", s.testConcurrency)
}

type suite struct {
	newStore func(t *testing.T) eventstore.Store
	opts     Options
}

// store returns a fresh store for t, failing t if newStore returns nil.
func (s *suite) store(t *testing.T) eventstore.Store {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("eventstoretest: newStore returned nil")
	}
	return &tracked{Store: st, timeout: s.opts.Timeout}
}

// tracked passes every call to the store under test and remembers the
// highest position an append returned.
//
// The global log may lag behind appends that have returned: PostgreSQL
// shows ReadAll only the events below its oldest running transaction, so
// that nothing can later appear behind a reader, and a transaction anywhere
// in the database holds that horizon back. The suite's checks of the whole
// log therefore first wait, up to Options.Timeout, until the log shows the
// last position appended (see settle); ReadStream must show an append as
// soon as it returns.
type tracked struct {
	eventstore.Store
	timeout time.Duration

	mu   sync.Mutex
	last eventstore.Position
}

func (s *tracked) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events...)
	if err == nil && len(res.Positions) > 0 {
		s.mu.Lock()
		if p := res.Positions[len(res.Positions)-1]; p.After(s.last) {
			s.last = p
		}
		s.mu.Unlock()
	}
	return res, err
}

// settle waits until the global log shows the last position appended
// through st (when st is tracked), failing t if it never does.
func settle(t testing.TB, st eventstore.Store) {
	t.Helper()
	tr, ok := st.(*tracked)
	if !ok {
		return
	}
	tr.mu.Lock()
	last := tr.last
	tr.mu.Unlock()
	if last.IsZero() {
		return
	}
	deadline := time.Now().Add(tr.timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		head, err := collect(tr.Store.ReadAll(t.Context(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 1}))
		noErr(t, err, "ReadAll backwards, limit 1")
		if len(head) == 1 && !head[0].Position.Before(last) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, the global log still ends at %v, before %v, the position of an append that returned", tr.timeout, positions(head), last)
		}
		time.Sleep(wait)
	}
}
