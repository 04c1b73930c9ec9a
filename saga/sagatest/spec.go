package sagatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/valuediff"
	"github.com/chronicle-go/chronicle/saga"
	sagamemory "github.com/chronicle-go/chronicle/saga/memory"
)

// Start is the time a [Spec]'s clock starts at.
var Start = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// Spec is a given / then specification of a saga definition: given these
// events, the saga sends these commands, schedules these deadlines,
// compensates in this order. It runs the definition in a real
// [saga.Engine] on the in-memory stores, step by step and without
// goroutines: each Given hands the events to the engine and then sends the
// outbox until nothing is due; [Spec.After] moves the engine's
// [saga.ManualClock], fires the deadlines that fall due, and sends again.
//
// Commands go to a recorder that accepts them, unless told otherwise with
// [Spec.Refuse] or [Spec.Answer]: a refusal fails the saga and compensates,
// any other error is a transient failure, retried (with back-off, by the
// clock: move it with After).
type Spec[S any] struct {
	t      testing.TB
	def    *saga.Definition[S]
	clock  *saga.ManualClock
	log    *esmemory.Store
	last   eventstore.Position
	engine *saga.Engine
	id     string
	broken bool

	mu      sync.Mutex
	sent    []any // every command delivered, in order, refused or not
	seen    int   // how many of them a ThenSent has checked
	answers []func(cmd any) error
}

// For starts a specification of d. Its events are encoded with
// d.Options().Events, its commands decoded with Options.Commands, as in
// production.
func For[S any](t testing.TB, d *saga.Definition[S]) *Spec[S] {
	t.Helper()
	s := &Spec[S]{t: t, def: d, clock: saga.NewManualClock(Start), log: esmemory.New(esmemory.Config{})}
	t.Cleanup(func() { _ = s.log.Close() })
	if d == nil {
		s.fail("sagatest: nil definition")
		return s
	}
	var err error
	s.engine, err = saga.NewEngine(d, sagamemory.New(), s.log, saga.SenderFunc(s.deliver), saga.Config{
		Clock: s.clock, HandlerAttempts: 1, HandlerBackoff: time.Microsecond, DispatchWorkers: 1,
		RetryMin: time.Second, RetryMax: time.Minute,
	})
	if err != nil {
		s.fail("sagatest: %v", err)
	}
	return s
}

func (s *Spec[S]) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf(format, args...)
	s.broken = true
}

// Clock returns the engine's clock: [Spec.After] moves it; read it for the
// times a test expects.
func (s *Spec[S]) Clock() *saga.ManualClock { return s.clock }

// Instance selects the instance the Then methods look at. Without it they
// look at the only instance there is.
func (s *Spec[S]) Instance(id string) *Spec[S] {
	s.id = id
	return s
}

// Answer makes the receiving services answer each command sent with
// answer(cmd): nil accepts it, a [command.Refuse]d error refuses it for
// good, any other error is a transient failure. Answers given earlier are
// asked first; the first non-nil one counts.
func (s *Spec[S]) Answer(answer func(cmd any) error) *Spec[S] {
	s.mu.Lock()
	s.answers = append(s.answers, answer)
	s.mu.Unlock()
	return s
}

// Refuse makes the receiving service refuse cmd (a command equal to it)
// for good, with reason: as a handler returning command.Refuse(reason).
func (s *Spec[S]) Refuse(cmd any, reason error) *Spec[S] {
	return s.Answer(func(c any) error {
		if reflect.DeepEqual(c, cmd) {
			return command.Refuse(reason)
		}
		return nil
	})
}

func (s *Spec[S]) deliver(_ context.Context, cmd command.Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, cmd.Payload)
	for _, a := range s.answers {
		if err := a(cmd.Payload); err != nil {
			return err
		}
	}
	return nil
}

// Given appends events, values of types Options.Events knows, to stream,
// hands them to the engine, and sends what the saga decided.
func (s *Spec[S]) Given(stream string, events ...any) *Spec[S] {
	s.t.Helper()
	if s.broken {
		return s
	}
	ctx := context.Background()
	reg := s.def.Options().Events
	batch := make([]eventstore.Event, 0, len(events))
	for _, e := range events {
		ev, err := reg.Encode(e, eventstore.Metadata{})
		if err != nil {
			s.fail("sagatest: given event %s: %v", valuediff.Show(e), err)
			return s
		}
		batch = append(batch, ev)
	}
	if _, err := s.log.Append(ctx, stream, eventstore.Any, batch...); err != nil {
		s.fail("sagatest: append to %s: %v", stream, err)
		return s
	}
	var recorded []eventstore.RecordedEvent
	for e, err := range s.log.ReadAll(ctx, eventstore.ReadAllOptions{From: s.last}) {
		if err != nil {
			s.fail("sagatest: read the log: %v", err)
			return s
		}
		recorded = append(recorded, e)
		s.last = e.Position
	}
	if err := s.engine.HandleEvents(ctx, recorded...); err != nil {
		s.fail("sagatest: handling %s: %v", stream, err)
		return s
	}
	s.dispatch()
	return s
}

// After moves the clock by d, fires the deadlines due by then, and sends
// what is due (the saga's decisions, and retries of failed sends).
func (s *Spec[S]) After(d time.Duration) *Spec[S] {
	s.t.Helper()
	if s.broken {
		return s
	}
	s.clock.Advance(d)
	for {
		n, err := s.engine.FireDeadlines(context.Background())
		if err != nil {
			s.fail("sagatest: firing deadlines: %v", err)
			return s
		}
		if n == 0 {
			break
		}
	}
	s.dispatch()
	return s
}

// dispatch sends the outbox until nothing more is due.
func (s *Spec[S]) dispatch() {
	s.t.Helper()
	for range 10000 {
		n, err := s.engine.Dispatch(context.Background())
		if err != nil {
			s.fail("sagatest: sending commands: %v", err)
			return
		}
		if n == 0 {
			return
		}
	}
	s.fail("sagatest: the outbox never empties: a command loop?")
}

// ThenSent checks the commands delivered since the previous ThenSent (or
// since the start), in order: those the saga decided, compensations, and
// those refused or failing (each try of a failing one counts).
func (s *Spec[S]) ThenSent(cmds ...any) *Spec[S] {
	s.t.Helper()
	if s.broken {
		return s
	}
	s.mu.Lock()
	got := slices.Clone(s.sent[s.seen:])
	s.seen = len(s.sent)
	s.mu.Unlock()
	if !valuediff.Equal(got, cmds) {
		s.fail("sagatest: %s: commands sent differ (- want, + got):\n%s", s.def.Name(), valuediff.Diff(cmds, got))
	}
	return s
}

// ThenStatus checks the instance's status and the reason it failed ("" for
// none).
func (s *Spec[S]) ThenStatus(status saga.Status, reason string) *Spec[S] {
	s.t.Helper()
	h, ok := s.history()
	if ok && (h.Instance.Status != status || h.Instance.Reason != reason) {
		s.fail("sagatest: %s/%s is %s (reason %q), want %s (reason %q)", s.def.Name(), h.Instance.ID,
			h.Instance.Status, h.Instance.Reason, status, reason)
	}
	return s
}

// ThenCompensated checks that the instance failed for reason and is
// compensated, and that its compensating commands were, in order, cmds
// (the compensations of its done steps, newest step first).
func (s *Spec[S]) ThenCompensated(reason string, cmds ...any) *Spec[S] {
	s.t.Helper()
	h, ok := s.history()
	if !ok {
		return s
	}
	if h.Instance.Status != saga.Compensated || h.Instance.Reason != reason {
		s.fail("sagatest: %s/%s is %s (reason %q), want compensated (reason %q)", s.def.Name(), h.Instance.ID,
			h.Instance.Status, h.Instance.Reason, reason)
		return s
	}
	var got []any
	for _, c := range h.Commands {
		if !c.Compensation {
			continue
		}
		v, err := s.def.Options().Commands.Decode(eventstore.RecordedEvent{Event: eventstore.Event{ID: c.ID, Type: c.Type, Data: c.Data}})
		if err != nil {
			s.fail("sagatest: compensation %s: %v", c.Type, err)
			return s
		}
		got = append(got, v)
	}
	if !valuediff.Equal(got, cmds) {
		s.fail("sagatest: %s/%s: compensations differ (- want, + got):\n%s", s.def.Name(), h.Instance.ID, valuediff.Diff(cmds, got))
	}
	return s
}

// ThenState checks the instance's state.
func (s *Spec[S]) ThenState(want S) *Spec[S] {
	s.t.Helper()
	h, ok := s.history()
	if !ok {
		return s
	}
	var got S
	if err := s.def.Options().StateCodec.Unmarshal(h.Instance.State, &got); err != nil {
		s.fail("sagatest: decode the state of %s: %v", h.Instance.ID, err)
		return s
	}
	if !reflect.DeepEqual(got, want) {
		s.fail("sagatest: %s/%s: state differs:\n- %s\n+ %s", s.def.Name(), h.Instance.ID, valuediff.Show(want), valuediff.Show(got))
	}
	return s
}

// ThenDeadlines checks the instance's pending deadlines: exactly those of
// want, each due that long after the clock's present time. An empty want
// means none.
func (s *Spec[S]) ThenDeadlines(want map[string]time.Duration) *Spec[S] {
	s.t.Helper()
	h, ok := s.history()
	if !ok {
		return s
	}
	now := s.clock.Now()
	got := map[string]time.Duration{}
	for _, d := range h.Deadlines {
		got[d.Name] = d.DueAt.Sub(now)
	}
	if len(got) == 0 && len(want) == 0 {
		return s
	}
	if !maps.Equal(got, want) {
		s.fail("sagatest: %s/%s: deadlines %s, want %s", s.def.Name(), h.Instance.ID, showDeadlines(got), showDeadlines(want))
	}
	return s
}

// ThenParked checks that an event was parked (its handler failed) with an
// error containing errText.
func (s *Spec[S]) ThenParked(errText string) *Spec[S] {
	s.t.Helper()
	if s.broken {
		return s
	}
	parked, err := s.engine.Parked(context.Background())
	if err != nil {
		s.fail("sagatest: %v", err)
		return s
	}
	var errs []string
	for _, p := range parked {
		if strings.Contains(p.Error, errText) {
			return s
		}
		errs = append(errs, p.Error)
	}
	s.fail("sagatest: %s: no event parked with an error containing %q (parked: %q)", s.def.Name(), errText, errs)
	return s
}

// history returns the selected instance's record.
func (s *Spec[S]) history() (saga.History, bool) {
	s.t.Helper()
	if s.broken {
		return saga.History{}, false
	}
	ctx := context.Background()
	id := s.id
	if id == "" {
		all, err := s.engine.Instances(ctx, saga.Query{Limit: 2})
		if err != nil {
			s.fail("sagatest: %v", err)
			return saga.History{}, false
		}
		if len(all) != 1 {
			s.fail("sagatest: %s has %d instances: pick one with Instance(id)", s.def.Name(), len(all))
			return saga.History{}, false
		}
		id = all[0].ID
	}
	h, err := s.engine.History(ctx, id)
	if errors.Is(err, saga.ErrNotFound) {
		s.fail("sagatest: %s has no instance %q (no event started it)", s.def.Name(), id)
		return saga.History{}, false
	}
	if err != nil {
		s.fail("sagatest: %v", err)
		return saga.History{}, false
	}
	return h, true
}

func showDeadlines(m map[string]time.Duration) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s in %v", n, m[n]))
	}
	return strings.Join(parts, ", ")
}
