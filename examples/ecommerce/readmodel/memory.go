package readmodel

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"

	"github.com/chronicle-go/chronicle/examples/ecommerce/inventory"
	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
)

// Memory keeps the read models in memory ([projection.Table]s), for the
// embedded run and tests; it works with any event store.
type Memory struct {
	runner    *projection.Runner[*projection.MemoryTx]
	orders    *projection.Table[string, OrderSummary]
	stock     *projection.Table[string, StockLevel]
	revenue   *projection.Table[string, DayRevenue]
	shipments *projection.Table[string, Shipment]
	carriers  *projection.Table[string, CarrierStatus]
}

var _ Store = (*Memory)(nil)

// NewMemory returns in-memory read models over store's log; events decodes
// the services' events.
func NewMemory(store eventstore.Store, events *eventstore.Registry, cfg projection.Config) (*Memory, error) {
	cps := projection.NewMemoryStore()
	m := &Memory{
		orders:    projection.NewTable[string, OrderSummary](cps),
		stock:     projection.NewTable[string, StockLevel](cps),
		revenue:   projection.NewTable[string, DayRevenue](cps),
		shipments: projection.NewTable[string, Shipment](cps),
		carriers:  projection.NewTable[string, CarrierStatus](cps),
	}
	type tx = *projection.MemoryTx

	orders := projection.New[tx](Orders, events)
	updateOrder := func(t tx, id string, fn func(*OrderSummary)) error {
		o, ok := m.orders.GetTx(t, id)
		if !ok {
			return errors.New("readmodel: event for an order never placed: " + id)
		}
		fn(&o)
		m.orders.Put(t, id, o)
		return nil
	}
	projection.On(orders, func(_ context.Context, t tx, e order.Placed, _ eventstore.RecordedEvent) error {
		m.orders.Put(t, e.OrderID, OrderSummary{OrderID: e.OrderID, Customer: e.Customer, Day: e.Day, Total: e.Total,
			Lines: len(e.Lines), Status: string(order.StatusPlaced)})
		return nil
	})
	projection.On(orders, func(_ context.Context, t tx, e order.Confirmed, _ eventstore.RecordedEvent) error {
		return updateOrder(t, e.OrderID, func(o *OrderSummary) { o.Status = string(order.StatusConfirmed) })
	})
	projection.On(orders, func(_ context.Context, t tx, e order.Cancelled, _ eventstore.RecordedEvent) error {
		return updateOrder(t, e.OrderID, func(o *OrderSummary) { o.Status, o.Reason = string(order.StatusCancelled), e.Reason })
	})
	projection.On(orders, func(_ context.Context, t tx, e order.ShipmentUpdated, _ eventstore.RecordedEvent) error {
		return updateOrder(t, e.OrderID, func(o *OrderSummary) { o.Tracking, o.Carrier = e.Status, e.Carrier })
	})
	projection.On(orders, func(_ context.Context, t tx, e order.Completed, _ eventstore.RecordedEvent) error {
		return updateOrder(t, e.OrderID, func(o *OrderSummary) {
			o.Status, o.Tracking = string(order.StatusCompleted), string(logistics.StatusDelivered)
		})
	})
	orders.OnReset(func(_ context.Context, t tx) error { m.orders.Clear(t); return nil })

	stock := projection.New[tx](Stock, events)
	updateStock := func(t tx, sku string, fn func(*StockLevel)) error {
		s, ok := m.stock.GetTx(t, sku)
		if !ok {
			return errors.New("readmodel: stock event for an unknown product: " + sku)
		}
		fn(&s)
		m.stock.Put(t, sku, s)
		return nil
	}
	projection.On(stock, func(_ context.Context, t tx, e inventory.ProductAdded, _ eventstore.RecordedEvent) error {
		m.stock.Put(t, e.SKU, StockLevel{SKU: e.SKU, Initial: e.Stock, Available: e.Stock})
		return nil
	})
	projection.On(stock, func(_ context.Context, t tx, e inventory.Reserved, _ eventstore.RecordedEvent) error {
		return updateStock(t, e.SKU, func(s *StockLevel) { s.Reserved += e.Qty; s.Available -= e.Qty })
	})
	projection.On(stock, func(_ context.Context, t tx, e inventory.Released, _ eventstore.RecordedEvent) error {
		return updateStock(t, e.SKU, func(s *StockLevel) { s.Released += e.Qty; s.Available += e.Qty })
	})
	stock.OnReset(func(_ context.Context, t tx) error { m.stock.Clear(t); return nil })

	revenue := projection.New[tx](Revenue, events)
	projection.On(revenue, func(_ context.Context, t tx, e order.Completed, _ eventstore.RecordedEvent) error {
		r, _ := m.revenue.GetTx(t, e.Day)
		r.Day, r.Orders, r.Revenue = e.Day, r.Orders+1, r.Revenue+e.Total
		m.revenue.Put(t, e.Day, r)
		return nil
	})
	revenue.OnReset(func(_ context.Context, t tx) error { m.revenue.Clear(t); return nil })

	shipments := projection.New[tx](Shipments, events)
	move := func(t tx, id, carrier, status string) {
		if old, ok := m.shipments.GetTx(t, id); ok {
			k := CarrierKey(old.Carrier, old.Status)
			c, _ := m.carriers.GetTx(t, k)
			c.Shipments--
			m.carriers.Put(t, k, c)
		}
		m.shipments.Put(t, id, Shipment{ShipmentID: id, Carrier: carrier, Status: status})
		k := CarrierKey(carrier, status)
		c, _ := m.carriers.GetTx(t, k)
		c.Carrier, c.Status, c.Shipments = carrier, status, c.Shipments+1
		m.carriers.Put(t, k, c)
	}
	projection.On(shipments, func(_ context.Context, t tx, e logistics.Created, _ eventstore.RecordedEvent) error {
		move(t, e.ShipmentID, e.Carrier, string(logistics.StatusCreated))
		return nil
	})
	progress := func(status logistics.Status) func(context.Context, tx, logistics.Progress) error {
		return func(_ context.Context, t tx, p logistics.Progress) error {
			move(t, p.ShipmentID, p.Carrier, string(status))
			return nil
		}
	}
	OnProgress(shipments, func(e logistics.Picked) logistics.Progress { return e.Progress }, progress(logistics.StatusPicked))
	OnProgress(shipments, func(e logistics.Dispatched) logistics.Progress { return e.Progress }, progress(logistics.StatusDispatched))
	OnProgress(shipments, func(e logistics.InTransit) logistics.Progress { return e.Progress }, progress(logistics.StatusInTransit))
	OnProgress(shipments, func(e logistics.Delivered) logistics.Progress { return e.Progress }, progress(logistics.StatusDelivered))
	OnProgress(shipments, func(e logistics.Failed) logistics.Progress { return e.Progress }, progress(logistics.StatusFailed))
	shipments.OnReset(func(_ context.Context, t tx) error { m.shipments.Clear(t); m.carriers.Clear(t); return nil })

	runner, err := projection.NewRunner(store, cps, cfg, orders, stock, revenue, shipments)
	if err != nil {
		return nil, err
	}
	m.runner = runner
	return m, nil
}

// OnProgress registers fn for the shipment progress event type E, given
// how to read its [logistics.Progress].
func OnProgress[E any, Tx any](p *projection.Projection[Tx], get func(E) logistics.Progress, fn func(context.Context, Tx, logistics.Progress) error) {
	projection.On(p, func(ctx context.Context, t Tx, e E, _ eventstore.RecordedEvent) error { return fn(ctx, t, get(e)) })
}

// Run implements [Store].
func (m *Memory) Run(ctx context.Context) error { return m.runner.Run(ctx) }

// Runner implements [Store].
func (m *Memory) Runner() Runner { return m.runner }

// Rebuild implements [Store].
func (m *Memory) Rebuild(ctx context.Context, progress func(projection.Progress)) error {
	return rebuildAll(ctx, m.runner, progress)
}

// Status implements [Store].
func (m *Memory) Status(ctx context.Context) ([]projection.Status, error) {
	return m.runner.Status(ctx)
}

// Snapshot implements [Store].
func (m *Memory) Snapshot(ctx context.Context) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Orders: m.orders.Snapshot(), Stock: m.stock.Snapshot(), Revenue: m.revenue.Snapshot(),
		Shipments: m.shipments.Snapshot(), Carriers: m.carriers.Snapshot()}, nil
}

// rebuildAll rebuilds every projection of r, one after the other.
func rebuildAll[Tx any](ctx context.Context, r *projection.Runner[Tx], progress func(projection.Progress)) error {
	for _, name := range Names {
		if err := r.Rebuild(ctx, name, projection.RebuildOptions{Progress: progress}); err != nil {
			return err
		}
	}
	return nil
}

// RebuildAll rebuilds every read model projection run by r: for other
// [Store] implementations.
func RebuildAll[Tx any](ctx context.Context, r *projection.Runner[Tx], progress func(projection.Progress)) error {
	return rebuildAll(ctx, r, progress)
}
