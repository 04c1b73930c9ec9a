package aggregatetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/valuediff"
)

// Spec is one given / when / then specification of an aggregate of type T
// handling commands of type C. Every event goes through the registry, as
// in the repository: given events are encoded and decoded before the
// aggregate sees them, and the recorded ones are encoded and decoded before
// they are compared, so an event the registry cannot store (an
// unregistered type, a field that does not survive JSON) fails the
// specification instead of passing it.
type Spec[T aggregate.Aggregate, C any] struct {
	t        testing.TB
	registry *eventstore.Registry
	newFn    func() T
	run      func(T, C) error
	id       string

	given []any
	ran   bool
	agg   T
	err   error
}

// For starts a specification of an object-style aggregate: registry is the
// one its repository uses, newFn returns an empty aggregate, and each
// command is a function that calls the aggregate's methods.
func For[T aggregate.Aggregate](t testing.TB, registry *eventstore.Registry, newFn func() T) *Spec[T, func(T) error] {
	return &Spec[T, func(T) error]{t: t, registry: registry, newFn: newFn, id: "test", run: func(a T, cmd func(T) error) error { return cmd(a) }}
}

// ForDecider starts a specification of a decider-style aggregate whose
// events registry knows.
func ForDecider[S, C any](t testing.TB, registry *eventstore.Registry, d aggregate.Decider[S, C]) *Spec[*aggregate.State[S], C] {
	return &Spec[*aggregate.State[S], C]{t: t, registry: registry, newFn: d.New, id: "test", run: d.Run}
}

// WithID sets the aggregate's ID (default "test").
func (s *Spec[T, C]) WithID(id string) *Spec[T, C] {
	s.id = id
	return s
}

// Given sets the events of the aggregate's past, each stored and loaded
// through the registry.
func (s *Spec[T, C]) Given(events ...any) *Spec[T, C] {
	s.t.Helper()
	for _, e := range events {
		v, err := s.roundTrip(e, uint64(len(s.given)+1))
		if err != nil {
			s.t.Errorf("aggregatetest: given event %s: %v", valuediff.Show(e), err)
			continue
		}
		s.given = append(s.given, v)
	}
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
// order (none, when events is empty), as they come back from the registry.
// It returns the aggregate for further checks of its state.
func (s *Spec[T, C]) Then(events ...any) T {
	s.t.Helper()
	if !s.ran {
		s.t.Errorf("aggregatetest: Then without When")
		return s.agg
	}
	for _, e := range events {
		if _, err := s.roundTrip(e, 1); err != nil {
			s.t.Errorf("aggregatetest: want event %s: %v", valuediff.Show(e), err)
			return s.agg
		}
	}
	if s.err != nil {
		s.t.Errorf("aggregatetest: the command failed: %v\nwant events:\n%s", s.err, valuediff.List(events))
		return s.agg
	}
	recorded := s.agg.Uncommitted()
	got := make([]any, len(recorded))
	for i, e := range recorded {
		v, err := s.roundTrip(e, s.agg.Version()+uint64(i)+1)
		if err != nil {
			s.t.Errorf("aggregatetest: the aggregate recorded %s, which the registry cannot store and load: %v", valuediff.Show(e), err)
			return s.agg
		}
		got[i] = v
	}
	if !valuediff.Equal(got, events) {
		s.t.Errorf("aggregatetest: recorded events differ (- want, + got):\n%s", valuediff.Diff(events, got))
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
		s.t.Errorf("aggregatetest: the command succeeded, want error %v; it recorded:\n%s", target, valuediff.List(s.agg.Uncommitted()))
		return
	}
	if !errors.Is(s.err, target) {
		s.t.Errorf("aggregatetest: the command failed with %v, want %v", s.err, target)
	}
	if got := s.agg.Uncommitted(); len(got) > 0 {
		s.t.Errorf("aggregatetest: the command failed but recorded:\n%s", valuediff.List(got))
	}
}

// roundTrip encodes e with the registry and decodes it again, as a save
// and a load would.
func (s *Spec[T, C]) roundTrip(e any, version uint64) (any, error) {
	if s.registry == nil {
		return nil, errors.New("no registry: pass the one the aggregate's repository uses to For or ForDecider")
	}
	ev, err := s.registry.Encode(e, eventstore.Metadata{})
	if err != nil {
		return nil, err
	}
	v, err := s.registry.Decode(eventstore.RecordedEvent{Event: ev, StreamID: s.id, Version: version})
	if err != nil {
		return nil, fmt.Errorf("it does not decode again: %w", err)
	}
	return v, nil
}
