package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// W7's events: an order is placed, then (mostly) paid, then (often) shipped.
type shopOrderPlaced struct {
	OrderID  string `json:"order_id"`
	Customer string `json:"customer"`
	Amount   int64  `json:"amount"`
	Day      string `json:"day"`
}

type shopOrderPaid struct {
	OrderID string `json:"order_id"`
}

type shopOrderShipped struct {
	OrderID string `json:"order_id"`
	Carrier string `json:"carrier"`
}

// W7's read model: three tables.
type rmOrder struct {
	Customer string
	Amount   int64
	Day      string
	Status   string
	Carrier  string
}

type rmTotals struct {
	Orders int64
	Sum    int64
}

// readModel is the expected (or the in-memory) read model.
type readModel struct {
	orders    map[string]rmOrder
	customers map[string]rmTotals
	daily     map[string]rmTotals
}

func newReadModel() *readModel {
	return &readModel{orders: map[string]rmOrder{}, customers: map[string]rmTotals{}, daily: map[string]rmTotals{}}
}

func (m *readModel) apply(v any) {
	switch e := v.(type) {
	case shopOrderPlaced:
		m.orders[e.OrderID] = rmOrder{Customer: e.Customer, Amount: e.Amount, Day: e.Day, Status: "placed"}
		c := m.customers[e.Customer]
		m.customers[e.Customer] = rmTotals{Orders: c.Orders + 1, Sum: c.Sum + e.Amount}
		d := m.daily[e.Day]
		m.daily[e.Day] = rmTotals{Orders: d.Orders + 1, Sum: d.Sum + e.Amount}
	case shopOrderPaid:
		o := m.orders[e.OrderID]
		o.Status = "paid"
		m.orders[e.OrderID] = o
	case shopOrderShipped:
		o := m.orders[e.OrderID]
		o.Status, o.Carrier = "shipped", e.Carrier
		m.orders[e.OrderID] = o
	}
}

// shopChunk is the n-th chunk of W7's log: orders chunkOrders*n … in one
// stream, each placed, most paid, many shipped; at most limit events.
func shopChunk(registry *eventstore.Registry, n, limit int) ([]eventstore.Event, []any, error) {
	const chunkOrders = 400
	var evs []eventstore.Event
	var vals []any
	add := func(v any) error {
		if len(evs) >= limit {
			return nil
		}
		e, err := registry.Encode(v, eventstore.Metadata{CorrelationID: "shop-" + strconv.Itoa(n)})
		if err != nil {
			return err
		}
		e.ID = eventstore.NewEventID()
		evs, vals = append(evs, e), append(vals, v)
		return nil
	}
	for i := n * chunkOrders; i < (n+1)*chunkOrders && len(evs) < limit; i++ {
		id := "order-" + strconv.Itoa(i)
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format(time.DateOnly)
		if err := add(shopOrderPlaced{OrderID: id, Customer: "customer-" + strconv.Itoa(i%1000), Amount: int64(500 + i%20000), Day: day}); err != nil {
			return nil, nil, err
		}
		if i%5 != 0 {
			if err := add(shopOrderPaid{OrderID: id}); err != nil {
				return nil, nil, err
			}
		}
		if i%5 == 1 || i%5 == 2 || i%5 == 3 {
			if err := add(shopOrderShipped{OrderID: id, Carrier: []string{"dhl", "ups", "postnl"}[i%3]}); err != nil {
				return nil, nil, err
			}
		}
	}
	return evs, vals, nil
}

// readModelSQL is the read model's SQL for one set of tables.
type readModelSQL struct {
	create  []string
	reset   string
	placed  [3]string
	paid    string
	shipped string
	tables  [3]string
}

func newReadModelSQL(schema, prefix string) readModelSQL {
	orders := pgmigrate.Table(schema, prefix+"orders")
	customers := pgmigrate.Table(schema, prefix+"customers")
	daily := pgmigrate.Table(schema, prefix+"daily")
	return readModelSQL{
		create: []string{
			`CREATE TABLE ` + orders + ` (order_id text PRIMARY KEY, customer text NOT NULL, amount bigint NOT NULL,
				day date NOT NULL, status text NOT NULL, carrier text)`,
			`CREATE TABLE ` + customers + ` (customer text PRIMARY KEY, orders bigint NOT NULL, total bigint NOT NULL)`,
			`CREATE TABLE ` + daily + ` (day date PRIMARY KEY, orders bigint NOT NULL, revenue bigint NOT NULL)`,
		},
		reset: `TRUNCATE ` + orders + `, ` + customers + `, ` + daily,
		placed: [3]string{
			`INSERT INTO ` + orders + ` (order_id, customer, amount, day, status) VALUES ($1, $2, $3, $4::date, 'placed')`,
			`INSERT INTO ` + customers + ` AS c (customer, orders, total) VALUES ($1, 1, $2)
				ON CONFLICT (customer) DO UPDATE SET orders = c.orders + 1, total = c.total + EXCLUDED.total`,
			`INSERT INTO ` + daily + ` AS d (day, orders, revenue) VALUES ($1::date, 1, $2)
				ON CONFLICT (day) DO UPDATE SET orders = d.orders + 1, revenue = d.revenue + EXCLUDED.revenue`,
		},
		paid:    `UPDATE ` + orders + ` SET status = 'paid' WHERE order_id = $1`,
		shipped: `UPDATE ` + orders + ` SET status = 'shipped', carrier = $2 WHERE order_id = $1`,
		tables:  [3]string{orders, customers, daily},
	}
}

// queue adds the statements of one event to q (a projection Tx's Queue or
// a pgx.Batch's).
func (s readModelSQL) queue(q func(sql string, args ...any), v any) {
	switch e := v.(type) {
	case shopOrderPlaced:
		q(s.placed[0], e.OrderID, e.Customer, e.Amount, e.Day)
		q(s.placed[1], e.Customer, e.Amount)
		q(s.placed[2], e.Day, e.Amount)
	case shopOrderPaid:
		q(s.paid, e.OrderID)
	case shopOrderShipped:
		q(s.shipped, e.OrderID, e.Carrier)
	}
}

var shopTypes = []string{"ShopOrderPlaced", "ShopOrderPaid", "ShopOrderShipped"}

func shopRegistry() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[shopOrderPlaced](r, shopTypes[0])
	eventstore.MustRegister[shopOrderPaid](r, shopTypes[1])
	eventstore.MustRegister[shopOrderShipped](r, shopTypes[2])
	return r
}

// rebuildBatch is the events per transaction of chronicle's rebuild (the
// projection runner's default RebuildBatchSize) and of the baseline's.
const rebuildBatch = 5000

// rebuildCase is W7: rebuild a three-table read model (orders, customers,
// daily revenue) from a log of n events. chronicle: projection.Runner's
// Rebuild with a projection/postgres checkpoint store, handlers queueing
// their statements on the batch's transaction. Baseline: one query for the
// log's events of the three types below the horizon, applied by hand in
// transactions of 5,000 events, each one pipeline with the checkpoint
// update, into same-shaped tables. Memory: the runner with in-memory tables
// on the memory store. The check compares chronicle's tables with the
// baseline's row for row, and both and the memory tables with the read
// model folded in Go.
func (e *env) rebuildCase(ctx context.Context, n int, progress func(string)) (*benchCase, error) {
	registry := shopRegistry()
	chron, base := newReadModelSQL(e.schema, "rm_"), newReadModelSQL(e.schema, "baseline_rm_")
	for _, sql := range append(chron.create, base.create...) {
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("W7: create read model: %w", err)
		}
	}
	cps, err := projpg.New(e.pool, projpg.Config{Schema: e.schema})
	if err != nil {
		return nil, err
	}
	if err := cps.Migrate(ctx); err != nil {
		return nil, err
	}
	baseCheckpoints := pgmigrate.Table(e.schema, "baseline_projection_checkpoints")
	if _, err := e.pool.Exec(ctx, `CREATE TABLE `+baseCheckpoints+` (LIKE `+
		pgmigrate.Table(e.schema, "projection_checkpoints")+` INCLUDING ALL)`); err != nil {
		return nil, err
	}

	// Seed the log, untimed: chunks to every store, a few at a time.
	mem := memory.New(memory.Config{})
	want := newReadModel()
	var mu sync.Mutex
	chunks := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	seeded := 0
	for range 4 {
		wg.Go(func() {
			for k := range chunks {
				evs, vals, err := shopChunk(registry, k, 1_000_000_000)
				if err == nil {
					mu.Lock()
					if seeded+len(evs) > n {
						evs, vals = evs[:n-seeded], vals[:n-seeded]
					}
					seeded += len(evs)
					for _, v := range vals {
						want.apply(v)
					}
					mu.Unlock()
				}
				stream := "shop-" + strconv.Itoa(k)
				for _, app := range []appender{storeAppender(e.events), e.baselineAppender(), storeAppender(mem)} {
					if err != nil || len(evs) == 0 {
						break
					}
					var ok bool
					if _, ok, err = app(ctx, stream, 0, evs); err == nil && !ok {
						err = fmt.Errorf("W7 setup: conflict on %s", stream)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var seedErr error
	start := time.Now()
feed:
	for k := 0; ; k++ {
		mu.Lock()
		done := seeded >= n
		mu.Unlock()
		if done {
			break
		}
		select {
		case chunks <- k:
		case seedErr = <-errs:
			break feed
		case <-ctx.Done():
			seedErr = ctx.Err()
			break feed
		}
		if k%250 == 249 {
			progress(fmt.Sprintf("W7 setup: %d events seeded in %v", min(seeded, n), time.Since(start).Round(time.Second)))
		}
	}
	close(chunks)
	wg.Wait()
	if seedErr == nil {
		select {
		case seedErr = <-errs:
		default:
		}
	}
	if seedErr != nil {
		return nil, seedErr
	}
	if err := e.waitSettled(ctx, 2*time.Minute); err != nil {
		return nil, err
	}

	// chronicle on PostgreSQL.
	pgProj := projection.New[*projpg.Tx]("w7-read-model", registry)
	projection.On(pgProj, func(ctx context.Context, tx *projpg.Tx, v shopOrderPlaced, _ eventstore.RecordedEvent) error {
		chron.queue(tx.Queue, v)
		return nil
	})
	projection.On(pgProj, func(ctx context.Context, tx *projpg.Tx, v shopOrderPaid, _ eventstore.RecordedEvent) error {
		chron.queue(tx.Queue, v)
		return nil
	})
	projection.On(pgProj, func(ctx context.Context, tx *projpg.Tx, v shopOrderShipped, _ eventstore.RecordedEvent) error {
		chron.queue(tx.Queue, v)
		return nil
	})
	pgProj.OnReset(func(ctx context.Context, tx *projpg.Tx) error {
		_, err := tx.Exec(ctx, chron.reset)
		return err
	})
	pgRunner, err := projection.NewRunner(e.events, cps, projection.Config{RebuildBatchSize: rebuildBatch, Logger: e.log}, pgProj)
	if err != nil {
		return nil, err
	}

	// chronicle on the memory store, with in-memory tables.
	ms := projection.NewMemoryStore()
	orders := projection.NewTable[string, rmOrder](ms)
	customers := projection.NewTable[string, rmTotals](ms)
	daily := projection.NewTable[string, rmTotals](ms)
	memProj := projection.New[*projection.MemoryTx]("w7-read-model", registry)
	projection.On(memProj, func(ctx context.Context, tx *projection.MemoryTx, v shopOrderPlaced, _ eventstore.RecordedEvent) error {
		orders.Put(tx, v.OrderID, rmOrder{Customer: v.Customer, Amount: v.Amount, Day: v.Day, Status: "placed"})
		c, _ := customers.GetTx(tx, v.Customer)
		customers.Put(tx, v.Customer, rmTotals{Orders: c.Orders + 1, Sum: c.Sum + v.Amount})
		d, _ := daily.GetTx(tx, v.Day)
		daily.Put(tx, v.Day, rmTotals{Orders: d.Orders + 1, Sum: d.Sum + v.Amount})
		return nil
	})
	projection.On(memProj, func(ctx context.Context, tx *projection.MemoryTx, v shopOrderPaid, _ eventstore.RecordedEvent) error {
		o, _ := orders.GetTx(tx, v.OrderID)
		o.Status = "paid"
		orders.Put(tx, v.OrderID, o)
		return nil
	})
	projection.On(memProj, func(ctx context.Context, tx *projection.MemoryTx, v shopOrderShipped, _ eventstore.RecordedEvent) error {
		o, _ := orders.GetTx(tx, v.OrderID)
		o.Status, o.Carrier = "shipped", v.Carrier
		orders.Put(tx, v.OrderID, o)
		return nil
	})
	memProj.OnReset(func(ctx context.Context, tx *projection.MemoryTx) error {
		orders.Clear(tx)
		customers.Clear(tx)
		daily.Clear(tx)
		return nil
	})
	memRunner, err := projection.NewRunner(mem, ms, projection.Config{RebuildBatchSize: rebuildBatch, Logger: e.log}, memProj)
	if err != nil {
		return nil, err
	}

	rebuild := func(r interface {
		Rebuild(context.Context, string, projection.RebuildOptions) error
	}) roundFunc {
		return func(ctx context.Context, round int) (sample, error) {
			start := time.Now()
			if err := r.Rebuild(ctx, "w7-read-model", projection.RebuildOptions{}); err != nil {
				return sample{}, err
			}
			return sample{n: n, elapsed: time.Since(start)}, nil
		}
	}
	c := &benchCase{id: "W7", title: fmt.Sprintf("rebuild a 3-table read model from %d events", n), unit: "events", noWarmup: true}
	sizeNote := ""
	if n < 1_000_000 {
		c.title += " (not 1,000,000: see below)"
		sizeNote = fmt.Sprintf("W7 ran on %d events, not the 1,000,000 of the full mode; `-events 1000000` runs the full size. ", n)
	}
	c.variants = []variant{
		{name: chronicleVariant, round: rebuild(pgRunner)},
		{name: baselineVariant, round: func(ctx context.Context, round int) (sample, error) {
			start := time.Now()
			got, err := e.baselineRebuild(ctx, base, baseCheckpoints, registry)
			if err != nil {
				return sample{}, err
			}
			if got != n {
				return sample{}, fmt.Errorf("baseline rebuild applied %d events, want %d", got, n)
			}
			return sample{n: n, elapsed: time.Since(start)}, nil
		}},
		{name: memoryVariant, round: rebuild(memRunner)},
	}
	c.check = func(ctx context.Context) error {
		if err := e.compareReadModels(ctx, chron, base); err != nil {
			return err
		}
		for _, rm := range []readModelSQL{chron, base} {
			if err := e.checkReadModel(ctx, rm, want); err != nil {
				return err
			}
		}
		got := &readModel{orders: orders.Snapshot(), customers: customers.Snapshot(), daily: daily.Snapshot()}
		if err := sameReadModel(got, want); err != nil {
			return fmt.Errorf("memory read model: %w", err)
		}
		c.note = sizeNote + fmt.Sprintf("W7 check passed: chronicle's three tables equal the baseline's row for row, and both and the in-memory tables "+
			"equal the read model folded in Go (%d orders, %d customers, %d days).", len(want.orders), len(want.customers), len(want.daily))
		return nil
	}
	return c, nil
}

// baselineRebuild resets the baseline read model and checkpoint, then reads
// the log's events of the three types below the horizon (taken once, at the
// start) in pages of rebuildBatch events, keyset-paged on (transaction_id,
// position), and applies each page in one transaction: one pipeline of the
// events' statements and the checkpoint update. It pages rather than
// streaming one query over the whole log because a query open for minutes
// holds back the cluster's xmin: no update of the read model's hot rows
// (customers, days) could be pruned meanwhile, their version chains grow
// with every batch, and the rebuild slows quadratically (measured: 39,000
// events/s at 100,000 events, 6,500 at 1,000,000). Hand-written code that
// replays a large log has to page for the same reason.
func (e *env) baselineRebuild(ctx context.Context, rm readModelSQL, checkpoints string, registry *eventstore.Registry) (int, error) {
	if _, err := e.pool.Exec(ctx, rm.reset); err != nil {
		return 0, err
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO `+checkpoints+` (name) VALUES ('w7') ON CONFLICT (name) DO UPDATE
		SET commit_pos = 0, prepare_pos = 0, handled = 0, state = 'rebuilding', updated_at = now()`); err != nil {
		return 0, err
	}
	var horizon int64
	if err := e.pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&horizon); err != nil {
		return 0, err
	}
	page := `SELECT ` + baselineColumns + ` FROM ` + pgmigrate.Table(e.schema, "baseline_events") + `
		WHERE type = ANY ($1) AND (transaction_id, position) > ($2, $3) AND transaction_id < $4
		ORDER BY transaction_id, position LIMIT $5`
	advance := `UPDATE ` + checkpoints + ` SET commit_pos = $1, prepare_pos = $2, handled = handled + $3,
		checkpoint_at = now(), updated_at = now() WHERE name = 'w7'`
	applied := 0
	var last eventstore.Position
	for {
		var batch pgx.Batch
		q := func(sql string, args ...any) { batch.Queue(sql, args...) }
		rows, err := e.pool.Query(ctx, page, shopTypes, int64(last.Commit), int64(last.Prepare), horizon, rebuildBatch)
		if err != nil {
			return applied, err
		}
		n, err := scanEvents(rows, func(ev eventstore.RecordedEvent) error {
			v, err := registry.Decode(ev)
			if err != nil {
				return err
			}
			rm.queue(q, v)
			last = ev.Position
			return nil
		})
		if err != nil {
			return applied, err
		}
		if n == 0 {
			break
		}
		batch.Queue(advance, int64(last.Commit), int64(last.Prepare), n)
		if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, &batch).Close() }); err != nil {
			return applied, err
		}
		applied += n
		if n < rebuildBatch {
			break
		}
	}
	_, err := e.pool.Exec(ctx, `UPDATE `+checkpoints+` SET state = 'running' WHERE name = 'w7'`)
	return applied, err
}

// compareReadModels checks that two sets of tables hold the same rows.
func (e *env) compareReadModels(ctx context.Context, a, b readModelSQL) error {
	for i := range a.tables {
		var diff int64
		err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM (TABLE `+a.tables[i]+` EXCEPT ALL TABLE `+b.tables[i]+`) x)
			+ (SELECT count(*) FROM (TABLE `+b.tables[i]+` EXCEPT ALL TABLE `+a.tables[i]+`) y)`).Scan(&diff)
		if err != nil {
			return err
		}
		if diff != 0 {
			return fmt.Errorf("%s and %s differ in %d rows", a.tables[i], b.tables[i], diff)
		}
	}
	return nil
}

// checkReadModel compares a PostgreSQL read model with the expected one.
func (e *env) checkReadModel(ctx context.Context, rm readModelSQL, want *readModel) error {
	got := newReadModel()
	rows, err := e.pool.Query(ctx, `SELECT order_id, customer, amount, day::text, status, coalesce(carrier, '') FROM `+rm.tables[0])
	if err != nil {
		return err
	}
	var id string
	var o rmOrder
	if _, err := pgx.ForEachRow(rows, []any{&id, &o.Customer, &o.Amount, &o.Day, &o.Status, &o.Carrier}, func() error {
		got.orders[id] = o
		return nil
	}); err != nil {
		return err
	}
	for i, m := range []map[string]rmTotals{got.customers, got.daily} {
		rows, err := e.pool.Query(ctx, `SELECT * FROM `+rm.tables[i+1])
		if err != nil {
			return err
		}
		var key string
		var t rmTotals
		var day time.Time
		dest := []any{&key, &t.Orders, &t.Sum}
		if i == 1 {
			dest[0] = &day
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error {
			if i == 1 {
				key = day.Format(time.DateOnly)
			}
			m[key] = t
			return nil
		}); err != nil {
			return err
		}
	}
	if err := sameReadModel(got, want); err != nil {
		return fmt.Errorf("%s: %w", rm.tables[0], err)
	}
	return nil
}

func sameReadModel(got, want *readModel) error {
	var errs []error
	diff := func(name string, n, w int, mismatch string) {
		if n != w {
			errs = append(errs, fmt.Errorf("%s: %d rows, want %d", name, n, w))
		} else if mismatch != "" {
			errs = append(errs, fmt.Errorf("%s: row %s differs", name, mismatch))
		}
	}
	first := func(g, w map[string]rmTotals) string {
		for k, v := range w {
			if g[k] != v {
				return k
			}
		}
		return ""
	}
	bad := ""
	for k, v := range want.orders {
		if got.orders[k] != v {
			bad = k
			break
		}
	}
	diff("orders", len(got.orders), len(want.orders), bad)
	diff("customers", len(got.customers), len(want.customers), first(got.customers, want.customers))
	diff("daily", len(got.daily), len(want.daily), first(got.daily, want.daily))
	return errors.Join(errs...)
}
