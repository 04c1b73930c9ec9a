package aggregatetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Spec is one given / when / then specification of an aggregate of type T
// handling commands of type C.
type Spec[T aggregate.Aggregate, C any] struct {
	t     testing.TB
	newFn func() T
	run   func(T, C) error
	id    string

	given []any
	ran   bool
	agg   T
	err   error
}

// For starts a specification of an object-style aggregate: newFn returns an
// empty aggregate, and each command is a function that calls the
// aggregate's methods.
func For[T aggregate.Aggregate](t testing.TB, newFn func() T) *Spec[T, func(T) error] {
	return &Spec[T, func(T) error]{t: t, newFn: newFn, id: "test", run: func(a T, cmd func(T) error) error { return cmd(a) }}
}

// ForDecider starts a specification of a decider-style aggregate.
func ForDecider[S, C any](t testing.TB, d aggregate.Decider[S, C]) *Spec[*aggregate.State[S], C] {
	return &Spec[*aggregate.State[S], C]{t: t, newFn: d.New, id: "test", run: d.Run}
}

// WithID sets the aggregate's ID (default "test").
func (s *Spec[T, C]) WithID(id string) *Spec[T, C] {
	s.id = id
	return s
}

// Given sets the events of the aggregate's past.
func (s *Spec[T, C]) Given(events ...any) *Spec[T, C] {
	s.given = append(s.given, events...)
	return s
}

// When runs cmd on the aggregate rebuilt from the given events.
func (s *Spec[T, C]) When(cmd C) *Spec[T, C] {
	s.agg = s.newFn()
	aggregate.Rehydrate(s.agg, s.id, s.given...)
	s.err = s.run(s.agg, cmd)
	s.ran = true
	return s
}

// Then checks that the command succeeded and recorded exactly events, in
// order (none, when events is empty). It returns the aggregate for further
// checks of its state.
func (s *Spec[T, C]) Then(events ...any) T {
	s.t.Helper()
	if !s.ran {
		s.t.Errorf("aggregatetest: Then without When")
		return s.agg
	}
	if s.err != nil {
		s.t.Errorf("aggregatetest: the command failed: %v\nwant events:\n%s", s.err, list(events))
		return s.agg
	}
	got := s.agg.Uncommitted()
	if !equal(got, events) {
		s.t.Errorf("aggregatetest: recorded events differ (- want, + got):\n%s", diff(events, got))
	}
	return s.agg
}

// ThenError checks that the command failed with an error matching target
// ([errors.Is]) and recorded nothing.
func (s *Spec[T, C]) ThenError(target error) {
	s.t.Helper()
	if !s.ran {
		s.t.Errorf("aggregatetest: ThenError without When")
		return
	}
	if s.err == nil {
		s.t.Errorf("aggregatetest: the command succeeded, want error %v; it recorded:\n%s", target, list(s.agg.Uncommitted()))
		return
	}
	if !errors.Is(s.err, target) {
		s.t.Errorf("aggregatetest: the command failed with %v, want %v", s.err, target)
	}
	if got := s.agg.Uncommitted(); len(got) > 0 {
		s.t.Errorf("aggregatetest: the command failed but recorded:\n%s", list(got))
	}
}

func equal(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			return false
		}
	}
	return true
}

// show renders an event as its Go type and its JSON payload.
func show(e any) string {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Sprintf("%T %+v", e, e)
	}
	return fmt.Sprintf("%T %s", e, b)
}

func list(events []any) string {
	if len(events) == 0 {
		return "  (no events)\n"
	}
	var b strings.Builder
	for i, e := range events {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, show(e))
	}
	return b.String()
}

func diff(want, got []any) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "- %d. %s\n", i+1, show(want[i]))
		case i >= len(want):
			fmt.Fprintf(&b, "+ %d. %s\n", i+1, show(got[i]))
		case reflect.DeepEqual(want[i], got[i]):
			fmt.Fprintf(&b, "  %d. %s\n", i+1, show(got[i]))
		default:
			fmt.Fprintf(&b, "- %d. %s\n+ %d. %s\n", i+1, show(want[i]), i+1, show(got[i]))
		}
	}
	return b.String()
}
