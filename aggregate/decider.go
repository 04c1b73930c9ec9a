package aggregate

import (
	"context"
	"errors"
)

// Decider is the functional style of aggregate: a pure function that
// decides which events a command produces from the current state, and one
// that evolves the state by an event. It is loaded and saved through the
// same [Repository] as object-style aggregates, as a [*State]:
//
//	repo, err := aggregate.NewRepository(store, registry, aggregate.Config[*aggregate.State[Cart]]{
//		Type: "cart",
//		New:  cartDecider.New,
//	})
//	appended, err := aggregate.Execute(ctx, repo, cartDecider, "cart-7", AddItem{SKU: "X"})
//
// C is usually an interface that every command type of the aggregate
// implements, or any.
type Decider[S, C any] struct {
	// Initial returns the state of an aggregate with no events; the zero S
	// when nil.
	Initial func() S
	// Decide returns the events cmd produces in state, or an error to refuse
	// it. It must not change state.
	Decide func(state S, cmd C) ([]any, error)
	// Evolve returns the state after event.
	Evolve func(state S, event any) S
}

// State holds a [Decider]'s state as an [Aggregate]. Value is the state; it
// is what a snapshot stores (as the JSON field "value").
type State[S any] struct {
	Root
	Value  S `json:"value"`
	evolve func(S, any) S
}

var _ Aggregate = (*State[struct{}])(nil)

// deciderState marks [State]: it needs its Decider's New, so a Config
// without New is refused.
type deciderState interface{ needsDeciderNew() }

func (*State[S]) needsDeciderNew() {}

// Apply implements [Aggregate] with the decider's Evolve.
// A State made otherwise than by [Decider.New] has no Evolve and panics.
func (s *State[S]) Apply(event any) {
	if s.evolve == nil {
		panic("aggregate: State without an Evolve function: create it with Decider.New (set Config.New to it)")
	}
	s.Value = s.evolve(s.Value, event)
}

// New returns the state of an aggregate with no events: use it as
// [Config.New].
func (d Decider[S, C]) New() *State[S] {
	s := &State[S]{evolve: d.Evolve}
	if d.Initial != nil {
		s.Value = d.Initial()
	}
	return s
}

// Run decides cmd on s and records the resulting events on it.
func (d Decider[S, C]) Run(s *State[S], cmd C) error {
	events, err := d.Decide(s.Value, cmd)
	if err != nil {
		return err
	}
	for _, e := range events {
		Record(s, e)
	}
	return nil
}

// Execute loads the aggregate id (or starts it, at version 0, when it has no
// events), decides cmd, and saves the events. It returns what was appended;
// a command that produces no events appends nothing.
func Execute[S, C any](ctx context.Context, repo *Repository[*State[S]], d Decider[S, C], id string, cmd C) (Appended, error) {
	if d.Decide == nil || d.Evolve == nil {
		return Appended{}, errors.New("aggregate: decider without Decide or Evolve")
	}
	s, err := repo.LoadOrNew(ctx, id)
	if err != nil {
		return Appended{}, err
	}
	if err := d.Run(s, cmd); err != nil {
		return Appended{}, err
	}
	return repo.Save(ctx, s)
}
