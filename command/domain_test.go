package command_test

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Tally is the aggregate of these tests: it counts the commands applied to
// it, and refuses to count past a limit.
type Tally struct {
	aggregate.Root
	Count int
	Limit int
}

type Counted struct {
	N int `json:"n"`
}

type LimitSet struct {
	Limit int `json:"limit"`
}

type Count struct {
	TallyID string
	N       int
}

func (c Count) Validate() error {
	if c.TallyID == "" {
		return errors.New("TallyID is empty")
	}
	return nil
}

type SetLimit struct {
	TallyID string
	Limit   int
}

var ErrLimit = errors.New("tally: limit reached")

func (t *Tally) Apply(e any) {
	switch e := e.(type) {
	case Counted:
		t.Count += e.N
	case LimitSet:
		t.Limit = e.Limit
	}
}

func (t *Tally) Add(n int) error {
	if t.Limit > 0 && t.Count+n > t.Limit {
		return ErrLimit
	}
	aggregate.Record(t, Counted{N: n})
	return nil
}

func newRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Counted](r, "Counted")
	eventstore.MustRegister[LimitSet](r, "LimitSet")
	return r
}

func newTallies(store eventstore.Store, snaps aggregate.SnapshotStore, every uint64) *aggregate.Repository[*Tally] {
	repo, err := aggregate.NewRepository(store, newRegistry(), aggregate.Config[*Tally]{
		Type: "tally", Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(every),
	})
	if err != nil {
		panic(err)
	}
	return repo
}

// tallyHandlers registers the handlers of Count and SetLimit on bus.
func tallyHandlers(bus *command.Bus, repo *aggregate.Repository[*Tally]) {
	command.MustHandleFunc(bus, func(ctx context.Context, c Count) error {
		t, err := repo.LoadOrNew(ctx, c.TallyID)
		if err != nil {
			return err
		}
		if err := t.Add(c.N); err != nil {
			return command.Refuse(err) // a business rule: sending it again gets the same answer
		}
		_, err = repo.Save(ctx, t)
		return err
	})
	command.MustHandleFunc(bus, func(ctx context.Context, c SetLimit) error {
		t, err := repo.LoadOrNew(ctx, c.TallyID)
		if err != nil {
			return err
		}
		aggregate.Record(t, LimitSet{Limit: c.Limit})
		_, err = repo.Save(ctx, t)
		return err
	})
}
