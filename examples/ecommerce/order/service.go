package order

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Service handles the order commands.
type Service struct {
	Orders *aggregate.Repository[*Order]
}

// NewService returns the service on store; events must hold the service's
// events ([RegisterEvents]).
func NewService(store eventstore.Store, events *eventstore.Registry) (*Service, error) {
	repo, err := aggregate.NewRepository(store, events, aggregate.Config[*Order]{Type: "order"})
	if err != nil {
		return nil, err
	}
	return &Service{Orders: repo}, nil
}

// Register registers the service's command handlers on bus.
func (s *Service) Register(bus *command.Bus) error {
	return errors.Join(
		command.HandleFunc(bus, func(ctx context.Context, c Place) error {
			return s.do(ctx, c.OrderID, true, func(o *Order) error { return o.Place(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Confirm) error {
			return s.do(ctx, c.OrderID, false, (*Order).Confirm)
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Cancel) error {
			return s.do(ctx, c.OrderID, false, func(o *Order) error { return o.Cancel(c.Reason) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c RecordShipment) error {
			return s.do(ctx, c.OrderID, false, func(o *Order) error { return o.RecordShipment(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c RequestShipment) error {
			return s.do(ctx, c.OrderID, false, func(o *Order) error { return o.RequestShipment(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Complete) error {
			return s.do(ctx, c.OrderID, false, (*Order).Complete)
		}),
	)
}

func (s *Service) do(ctx context.Context, id string, create bool, fn func(*Order) error) error {
	load := s.Orders.Load
	if create {
		load = s.Orders.LoadOrNew
	}
	o, err := load(ctx, id)
	if err != nil {
		return err
	}
	if err := fn(o); err != nil {
		return err
	}
	if len(o.Uncommitted()) == 0 {
		return nil
	}
	_, err = s.Orders.Save(ctx, o)
	return err
}
