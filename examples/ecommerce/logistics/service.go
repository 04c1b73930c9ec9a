package logistics

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Service handles the logistics commands.
type Service struct {
	Shipments *aggregate.Repository[*Shipment]
}

// NewService returns the service on store; events must hold the service's
// events ([RegisterEvents]).
func NewService(store eventstore.Store, events *eventstore.Registry) (*Service, error) {
	repo, err := aggregate.NewRepository(store, events, aggregate.Config[*Shipment]{Type: "shipment"})
	if err != nil {
		return nil, err
	}
	return &Service{Shipments: repo}, nil
}

// Register registers the service's command handlers on bus.
func (s *Service) Register(bus *command.Bus) error {
	return errors.Join(
		command.HandleFunc(bus, func(ctx context.Context, c Create) error {
			return s.do(ctx, c.OrderID, true, func(sh *Shipment) error { return sh.Create(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Scan) error {
			return s.do(ctx, c.OrderID, false, func(sh *Shipment) error { return sh.Scan(c) })
		}),
	)
}

func (s *Service) do(ctx context.Context, orderID string, create bool, fn func(*Shipment) error) error {
	load := s.Shipments.Load
	if create {
		load = s.Shipments.LoadOrNew
	}
	sh, err := load(ctx, orderID)
	if err != nil {
		return err
	}
	if err := fn(sh); err != nil {
		return err
	}
	if len(sh.Uncommitted()) == 0 {
		return nil
	}
	_, err = s.Shipments.Save(ctx, sh)
	return err
}
