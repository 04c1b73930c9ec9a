package inventory

import (
	"context"
	"errors"
	"sync"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Service handles the inventory commands.
//
// Commands on one product are handled one at a time in this process (a
// lock per SKU), so popular products do not make concurrent reservations
// fail on optimistic concurrency and retry; other processes still race
// through the store's expected versions, and the bus's conflict retry
// settles those.
type Service struct {
	Products *aggregate.Repository[*Product]

	locks sync.Map // SKU → *sync.Mutex
}

// NewService returns the service on store; events must hold the service's
// events ([RegisterEvents]).
func NewService(store eventstore.Store, events *eventstore.Registry) (*Service, error) {
	repo, err := aggregate.NewRepository(store, events, aggregate.Config[*Product]{Type: "product"})
	if err != nil {
		return nil, err
	}
	return &Service{Products: repo}, nil
}

// Register registers the service's command handlers on bus.
func (s *Service) Register(bus *command.Bus) error {
	return errors.Join(
		command.HandleFunc(bus, func(ctx context.Context, c AddProduct) error {
			return s.do(ctx, c.SKU, true, func(p *Product) error { return p.Add(c) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Reserve) error {
			return s.do(ctx, c.SKU, false, func(p *Product) error { return p.Reserve(c.OrderID, c.Qty) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Release) error {
			return s.do(ctx, c.SKU, false, func(p *Product) error { return p.Release(c.OrderID) })
		}),
	)
}

func (s *Service) do(ctx context.Context, sku string, create bool, fn func(*Product) error) error {
	l, _ := s.locks.LoadOrStore(sku, new(sync.Mutex))
	mu := l.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	load := s.Products.Load
	if create {
		load = s.Products.LoadOrNew
	}
	p, err := load(ctx, sku)
	if err != nil {
		return err
	}
	if err := fn(p); err != nil {
		return err
	}
	if len(p.Uncommitted()) == 0 {
		return nil
	}
	_, err = s.Products.Save(ctx, p)
	return err
}
