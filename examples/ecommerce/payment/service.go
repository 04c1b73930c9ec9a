package payment

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Service handles the payment commands.
type Service struct {
	Payments *aggregate.Repository[*Payment]
}

// NewService returns the service on store; events must hold the service's
// events ([RegisterEvents]).
func NewService(store eventstore.Store, events *eventstore.Registry) (*Service, error) {
	repo, err := aggregate.NewRepository(store, events, aggregate.Config[*Payment]{Type: "payment"})
	if err != nil {
		return nil, err
	}
	return &Service{Payments: repo}, nil
}

// Register registers the service's command handlers on bus.
func (s *Service) Register(bus *command.Bus) error {
	return errors.Join(
		command.HandleFunc(bus, func(ctx context.Context, c Charge) error {
			return s.do(ctx, c.OrderID, func(p *Payment) error { return p.Charge(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Void) error {
			return s.do(ctx, c.OrderID, (*Payment).Void)
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Refund) error {
			return s.do(ctx, c.OrderID, (*Payment).Refund)
		}),
	)
}

func (s *Service) do(ctx context.Context, orderID string, fn func(*Payment) error) error {
	p, err := s.Payments.LoadOrNew(ctx, orderID)
	if err != nil {
		return err
	}
	if err := fn(p); err != nil {
		return err
	}
	if len(p.Uncommitted()) == 0 {
		return nil
	}
	_, err = s.Payments.Save(ctx, p)
	return err
}
