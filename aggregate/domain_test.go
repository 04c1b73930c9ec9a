package aggregate_test

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Account is the object-style aggregate of these tests.
type Account struct {
	aggregate.Root
	Opened  bool
	Balance int
	Moves   int
}

type Opened struct {
	Owner string `json:"owner"`
}

type Deposited struct {
	Amount int `json:"amount"`
}

type Withdrawn struct {
	Amount int `json:"amount"`
}

var ErrInsufficientFunds = errors.New("insufficient funds")

func (a *Account) Open(owner string) error {
	if a.Opened {
		return errors.New("already open")
	}
	aggregate.Record(a, Opened{Owner: owner})
	return nil
}

func (a *Account) Deposit(n int) {
	aggregate.Record(a, Deposited{Amount: n})
}

func (a *Account) Withdraw(n int) error {
	if n > a.Balance {
		return ErrInsufficientFunds
	}
	aggregate.Record(a, Withdrawn{Amount: n})
	return nil
}

func (a *Account) Apply(e any) {
	switch e := e.(type) {
	case Opened:
		a.Opened = true
	case Deposited:
		a.Balance += e.Amount
		a.Moves++
	case Withdrawn:
		a.Balance -= e.Amount
		a.Moves++
	}
}

func registry() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Opened](r, "AccountOpened")
	eventstore.MustRegister[Deposited](r, "Deposited")
	eventstore.MustRegister[Withdrawn](r, "Withdrawn")
	eventstore.MustRegister[Incremented](r, "Incremented")
	return r
}

// Counter is the decider-style aggregate of these tests.
type Counter struct {
	N   int `json:"n"`
	Max int `json:"max"`
}

type Increment struct{ By int }

type Incremented struct {
	By int `json:"by"`
}

var ErrTooBig = errors.New("counter: over its maximum")

var counterDecider = aggregate.Decider[Counter, Increment]{
	Initial: func() Counter { return Counter{Max: 1_000_000} },
	Decide: func(s Counter, c Increment) ([]any, error) {
		if s.N+c.By > s.Max {
			return nil, ErrTooBig
		}
		return []any{Incremented{By: c.By}}, nil
	},
	Evolve: func(s Counter, e any) Counter {
		if e, ok := e.(Incremented); ok {
			s.N += e.By
		}
		return s
	},
}

// countingStore counts the events a store's ReadStream yields: it delegates
// every call to the real store.
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
