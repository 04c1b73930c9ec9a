package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"

	"github.com/chronicle-go/chronicle/examples/ecommerce/inventory"
	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the read model tables (component "ecommerce").
var Migrations = pgmigrate.MustLoad("ecommerce", migrationFiles, "migrations")

// Store runs the read model projections into PostgreSQL tables.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	cps    *projpg.Store
	runner *projection.Runner[*projpg.Tx]
	t      tables
}

var _ readmodel.Store = (*Store)(nil)

type tables struct{ orders, stock, revenue, shipments, carriers string }

// New returns the read models in schema over store's log; events decodes
// the services' events. It creates nothing: call [Store.Migrate] first.
func New(pool *pgxpool.Pool, schema string, store eventstore.Store, events *eventstore.Registry, cfg projection.Config) (*Store, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	cps, err := projpg.New(pool, projpg.Config{Schema: schema, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, schema: schema, cps: cps, t: tables{
		orders: pgmigrate.Table(schema, "order_summaries"), stock: pgmigrate.Table(schema, "stock_levels"),
		revenue: pgmigrate.Table(schema, "revenue_per_day"), shipments: pgmigrate.Table(schema, "shipments"),
		carriers: pgmigrate.Table(schema, "shipments_by_carrier"),
	}}
	s.runner, err = projection.NewRunner(store, cps, cfg, s.projections(events)...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Migrate creates or upgrades the checkpoint table and the read model
// tables.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.cps.Migrate(ctx); err != nil {
		return err
	}
	_, err := pgmigrate.Apply(ctx, s.pool, s.schema, Migrations)
	return err
}

type tx = *projpg.Tx

func (s *Store) projections(events *eventstore.Registry) []*projection.Projection[tx] {
	t := s.t
	name := func(table string) string { return s.schema + "." + table }

	orders := projection.New[tx](readmodel.Orders, events)
	projection.On(orders, func(_ context.Context, x tx, e order.Placed, _ eventstore.RecordedEvent) error {
		x.Queue(`INSERT INTO `+t.orders+` (order_id, customer, day, total, lines, status) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.OrderID, e.Customer, e.Day, e.Total, len(e.Lines), string(order.StatusPlaced))
		return nil
	})
	setStatus := `UPDATE ` + t.orders + ` SET status = $2 WHERE order_id = $1`
	projection.On(orders, func(_ context.Context, x tx, e order.Confirmed, _ eventstore.RecordedEvent) error {
		x.Queue(setStatus, e.OrderID, string(order.StatusConfirmed))
		return nil
	})
	projection.On(orders, func(_ context.Context, x tx, e order.Cancelled, _ eventstore.RecordedEvent) error {
		x.Queue(`UPDATE `+t.orders+` SET status = $2, reason = $3 WHERE order_id = $1`, e.OrderID, string(order.StatusCancelled), e.Reason)
		return nil
	})
	projection.On(orders, func(_ context.Context, x tx, e order.ShipmentUpdated, _ eventstore.RecordedEvent) error {
		x.Queue(`UPDATE `+t.orders+` SET tracking = $2, carrier = $3 WHERE order_id = $1`, e.OrderID, e.Status, e.Carrier)
		return nil
	})
	projection.On(orders, func(_ context.Context, x tx, e order.Completed, _ eventstore.RecordedEvent) error {
		x.Queue(`UPDATE `+t.orders+` SET status = $2, tracking = $3 WHERE order_id = $1`, e.OrderID,
			string(order.StatusCompleted), string(logistics.StatusDelivered))
		return nil
	})
	orders.OnReset(projpg.Truncate(name("order_summaries")))

	stock := projection.New[tx](readmodel.Stock, events)
	projection.On(stock, func(_ context.Context, x tx, e inventory.ProductAdded, _ eventstore.RecordedEvent) error {
		x.Queue(`INSERT INTO `+t.stock+` (sku, initial, available) VALUES ($1, $2, $2)`, e.SKU, e.Stock)
		return nil
	})
	projection.On(stock, func(_ context.Context, x tx, e inventory.Reserved, _ eventstore.RecordedEvent) error {
		x.Queue(`UPDATE `+t.stock+` SET reserved = reserved + $2, available = available - $2 WHERE sku = $1`, e.SKU, e.Qty)
		return nil
	})
	projection.On(stock, func(_ context.Context, x tx, e inventory.Released, _ eventstore.RecordedEvent) error {
		x.Queue(`UPDATE `+t.stock+` SET released = released + $2, available = available + $2 WHERE sku = $1`, e.SKU, e.Qty)
		return nil
	})
	stock.OnReset(projpg.Truncate(name("stock_levels")))

	revenue := projection.New[tx](readmodel.Revenue, events)
	projection.On(revenue, func(_ context.Context, x tx, e order.Completed, _ eventstore.RecordedEvent) error {
		x.Queue(`INSERT INTO `+t.revenue+` AS r (day, orders, revenue) VALUES ($1, 1, $2)
			ON CONFLICT (day) DO UPDATE SET orders = r.orders + 1, revenue = r.revenue + excluded.revenue`, e.Day, e.Total)
		return nil
	})
	revenue.OnReset(projpg.Truncate(name("revenue_per_day")))

	shipments := projection.New[tx](readmodel.Shipments, events)
	move := func(x tx, id, carrier string, status logistics.Status) {
		x.Queue(`UPDATE `+t.carriers+` c SET shipments = c.shipments - 1 FROM `+t.shipments+` s
			WHERE s.shipment_id = $1 AND c.carrier = s.carrier AND c.status = s.status`, id)
		x.Queue(`INSERT INTO `+t.shipments+` AS s (shipment_id, carrier, status) VALUES ($1, $2, $3)
			ON CONFLICT (shipment_id) DO UPDATE SET carrier = excluded.carrier, status = excluded.status`, id, carrier, string(status))
		x.Queue(`INSERT INTO `+t.carriers+` AS c (carrier, status, shipments) VALUES ($1, $2, 1)
			ON CONFLICT (carrier, status) DO UPDATE SET shipments = c.shipments + 1`, carrier, string(status))
	}
	projection.On(shipments, func(_ context.Context, x tx, e logistics.Created, _ eventstore.RecordedEvent) error {
		move(x, e.ShipmentID, e.Carrier, logistics.StatusCreated)
		return nil
	})
	progress := func(status logistics.Status) func(context.Context, tx, logistics.Progress) error {
		return func(_ context.Context, x tx, p logistics.Progress) error {
			move(x, p.ShipmentID, p.Carrier, status)
			return nil
		}
	}
	readmodel.OnProgress(shipments, func(e logistics.Picked) logistics.Progress { return e.Progress }, progress(logistics.StatusPicked))
	readmodel.OnProgress(shipments, func(e logistics.Dispatched) logistics.Progress { return e.Progress }, progress(logistics.StatusDispatched))
	readmodel.OnProgress(shipments, func(e logistics.InTransit) logistics.Progress { return e.Progress }, progress(logistics.StatusInTransit))
	readmodel.OnProgress(shipments, func(e logistics.Delivered) logistics.Progress { return e.Progress }, progress(logistics.StatusDelivered))
	readmodel.OnProgress(shipments, func(e logistics.Failed) logistics.Progress { return e.Progress }, progress(logistics.StatusFailed))
	shipments.OnReset(projpg.Truncate(name("shipments"), name("shipments_by_carrier")))

	return []*projection.Projection[tx]{orders, stock, revenue, shipments}
}

// Run implements [readmodel.Store].
func (s *Store) Run(ctx context.Context) error { return s.runner.Run(ctx) }

// Rebuild implements [readmodel.Store].
func (s *Store) Rebuild(ctx context.Context, progress func(projection.Progress)) error {
	return readmodel.RebuildAll(ctx, s.runner, progress)
}

// Runner implements [readmodel.Store].
func (s *Store) Runner() readmodel.Runner { return s.runner }

// Status implements [readmodel.Store].
func (s *Store) Status(ctx context.Context) ([]projection.Status, error) { return s.runner.Status(ctx) }

// Snapshot implements [readmodel.Store]: it reads every table in one
// repeatable-read transaction.
func (s *Store) Snapshot(ctx context.Context) (readmodel.Snapshot, error) {
	var snap readmodel.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(x pgx.Tx) error {
		var err error
		if snap.Orders, err = collect(ctx, x, `SELECT order_id, customer, day, total, lines, status, tracking, carrier, reason FROM `+s.t.orders,
			func(r pgx.Rows) (string, readmodel.OrderSummary, error) {
				var o readmodel.OrderSummary
				err := r.Scan(&o.OrderID, &o.Customer, &o.Day, &o.Total, &o.Lines, &o.Status, &o.Tracking, &o.Carrier, &o.Reason)
				return o.OrderID, o, err
			}); err != nil {
			return err
		}
		if snap.Stock, err = collect(ctx, x, `SELECT sku, initial, reserved, released, available FROM `+s.t.stock,
			func(r pgx.Rows) (string, readmodel.StockLevel, error) {
				var l readmodel.StockLevel
				err := r.Scan(&l.SKU, &l.Initial, &l.Reserved, &l.Released, &l.Available)
				return l.SKU, l, err
			}); err != nil {
			return err
		}
		if snap.Revenue, err = collect(ctx, x, `SELECT day, orders, revenue FROM `+s.t.revenue,
			func(r pgx.Rows) (string, readmodel.DayRevenue, error) {
				var d readmodel.DayRevenue
				err := r.Scan(&d.Day, &d.Orders, &d.Revenue)
				return d.Day, d, err
			}); err != nil {
			return err
		}
		if snap.Shipments, err = collect(ctx, x, `SELECT shipment_id, carrier, status FROM `+s.t.shipments,
			func(r pgx.Rows) (string, readmodel.Shipment, error) {
				var sh readmodel.Shipment
				err := r.Scan(&sh.ShipmentID, &sh.Carrier, &sh.Status)
				return sh.ShipmentID, sh, err
			}); err != nil {
			return err
		}
		snap.Carriers, err = collect(ctx, x, `SELECT carrier, status, shipments FROM `+s.t.carriers,
			func(r pgx.Rows) (string, readmodel.CarrierStatus, error) {
				var c readmodel.CarrierStatus
				err := r.Scan(&c.Carrier, &c.Status, &c.Shipments)
				return readmodel.CarrierKey(c.Carrier, c.Status), c, err
			})
		return err
	})
	if err != nil {
		return readmodel.Snapshot{}, fmt.Errorf("ecommerce read models: snapshot: %w", err)
	}
	return snap, nil
}

func collect[V any](ctx context.Context, x pgx.Tx, query string, scan func(pgx.Rows) (string, V, error)) (map[string]V, error) {
	rows, err := x.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]V{}
	for rows.Next() {
		k, v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}
