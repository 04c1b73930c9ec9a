package console

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/saga"
)

var _ SagaRetrier = engineSagas(nil)

// Engines adapts an application's saga engines to [Sagas] (and
// [SagaRetrier]), for stores
// the console has no source of its own for (the memory store). It cannot
// look commands up by ID: events sent by sagas then show their causation
// ID without the command behind it.
func Engines(engines ...*saga.Engine) Sagas {
	e := engineSagas{}
	for _, en := range engines {
		if en != nil {
			e[en.Name()] = en
		}
	}
	return e
}

type engineSagas map[string]*saga.Engine

func (e engineSagas) engine(name string) (*saga.Engine, error) {
	en, ok := e[name]
	if !ok {
		return nil, fmt.Errorf("saga %q: %w", name, saga.ErrNotFound)
	}
	return en, nil
}

func (e engineSagas) Summaries(ctx context.Context) ([]SagaSummary, error) {
	var out []SagaSummary
	for name, en := range e {
		counts, err := en.Count(ctx)
		if err != nil {
			return nil, err
		}
		parked, err := en.Parked(ctx)
		if err != nil {
			return nil, err
		}
		failing, err := en.FailingCommands(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, SagaSummary{Name: name, Counts: counts, Parked: len(parked), Failing: len(failing)})
	}
	slices.SortFunc(out, func(a, b SagaSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (e engineSagas) Instances(ctx context.Context, name string, q saga.Query) ([]saga.Instance, error) {
	en, err := e.engine(name)
	if err != nil {
		return nil, err
	}
	return en.Instances(ctx, q)
}

func (e engineSagas) History(ctx context.Context, name, id string) (saga.History, error) {
	en, err := e.engine(name)
	if err != nil {
		return saga.History{}, err
	}
	return en.History(ctx, id)
}

func (e engineSagas) Parked(ctx context.Context, name string) ([]saga.Parked, error) {
	en, err := e.engine(name)
	if err != nil {
		return nil, err
	}
	return en.Parked(ctx)
}

func (e engineSagas) FailingCommands(ctx context.Context, name string) ([]saga.Command, error) {
	en, err := e.engine(name)
	if err != nil {
		return nil, err
	}
	return en.FailingCommands(ctx)
}

// CanRetryParked implements [SagaRetrier].
func (e engineSagas) CanRetryParked(name string) bool { return e[name] != nil }

// RetryParked implements [SagaRetrier].
func (e engineSagas) RetryParked(ctx context.Context, name string, eventID uuid.UUID) error {
	en, err := e.engine(name)
	if err != nil {
		return err
	}
	return en.RetryParked(ctx, eventID)
}

func (e engineSagas) Commands(context.Context, []uuid.UUID) ([]saga.Command, error) {
	return nil, fmt.Errorf("looking commands up through saga engines: %w", ErrUnsupported)
}
