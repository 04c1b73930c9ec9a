package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// Config shapes a run. The zero value places 200 orders from seed 1 with
// [DefaultRates].
type Config struct {
	Orders int
	Seed   uint64
	// Rates are the failure shares; nil means [DefaultRates].
	Rates *Rates
	// Concurrency is how many clients place orders at once (default 16).
	Concurrency int
	// PaymentDeadline: see [fulfilment.Config]; default 500ms.
	PaymentDeadline time.Duration
	// Timeout bounds the wait for every saga to end (default 2m).
	Timeout time.Duration
	// Progress, if set, receives a progress line (orders/s) now and then,
	// rewritten in place with a carriage return.
	Progress io.Writer
	// Logger receives the engines' warnings; none by default.
	Logger *slog.Logger
	// Replay, once the run has settled, rebuilds every read model from the
	// log and compares checksums ([Replay]); the result is Report.Replay.
	Replay bool
	// Roles are what this process runs besides placing the orders (see
	// [NewApp]); empty means everything. The roles missing here must run
	// in other processes on the same database ([Serve]).
	Roles Roles
	// Started, if set, is called once the application runs, before the
	// orders are placed: the example's -console serves the web console
	// from it. The App stays usable for reads after Run returns.
	Started func(*App) error
	// Transport is the broker between the order and logistics contexts;
	// nil means an in-process one.
	Transport *Transport
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Orders < 0 {
		errs = append(errs, fmt.Errorf("scenario: Orders is %d", c.Orders))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("scenario: Concurrency is %d", c.Concurrency))
	}
	if c.PaymentDeadline < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("scenario: negative PaymentDeadline or Timeout"))
	}
	if c.Rates != nil {
		errs = append(errs, c.Rates.Validate())
	}
	if c.Replay && !c.Roles.Has(RoleProjections) {
		errs = append(errs, errors.New("scenario: Replay rebuilds the read models, so it needs the projections role"))
	}
	return errors.Join(errs...)
}

// Defaults of [Config]: a zero field takes its default ([DefaultRates] for
// a nil Rates).
const (
	DefaultOrders          = 200
	DefaultSeed            = 1
	DefaultConcurrency     = 16
	DefaultPaymentDeadline = 500 * time.Millisecond
	DefaultTimeout         = 2 * time.Minute
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Orders = cmp.Or(c.Orders, DefaultOrders)
	c.Seed = cmp.Or(c.Seed, DefaultSeed)
	if c.Rates == nil {
		r := DefaultRates
		c.Rates = &r
	}
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.PaymentDeadline = cmp.Or(c.PaymentDeadline, DefaultPaymentDeadline)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	return c
}

// Run places the seeded orders on b, waits until every saga has ended and
// the read models have caught up, and returns the report with its checks.
// An error means the run could not be carried out; a run whose invariants
// fail returns a report whose OK is false.
func Run(ctx context.Context, b Backend, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	app, err := NewApp(b, AppConfig{PaymentDeadline: cfg.PaymentDeadline, Logger: cfg.Logger, Roles: cfg.Roles, Transport: cfg.Transport})
	if err != nil {
		return nil, err
	}
	plan := NewPlan(cfg.Orders, cfg.Seed, *cfg.Rates)

	runCtx, stop := context.WithCancel(ctx)
	wait := app.Start(runCtx)
	defer func() {
		stop()
		wait()
		if cfg.Transport == nil {
			app.Transport.Close()
		}
	}()
	if cfg.Started != nil {
		if err := cfg.Started(app); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	if err := app.Seed(ctx, plan); err != nil {
		return nil, err
	}
	progress := newProgress(cfg.Progress, cfg.Orders)
	defer progress.stop()
	if err := app.Place(ctx, plan, cfg.Concurrency); err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := app.WaitSettled(waitCtx, len(plan.Orders), progress.update); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	progress.stop()
	rep, err := app.Check(ctx, plan)
	if err != nil {
		return nil, err
	}
	rep.Seed, rep.Elapsed = cfg.Seed, elapsed
	if cfg.Replay {
		stop()
		wait()
		if rep.Replay, err = Replay(ctx, b.Events, app.Events, app.ReadModels, b.Name, cfg.Progress); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// Serve runs the roles of cfg on b until ctx ends: a process that takes
// part in a run without placing the orders.
func Serve(ctx context.Context, b Backend, cfg AppConfig) error {
	app, err := NewApp(b, cfg)
	if err != nil {
		return err
	}
	app.Start(ctx)()
	if cfg.Transport == nil {
		app.Transport.Close()
	}
	return nil
}

// Seed adds the plan's products.
func (a *App) Seed(ctx context.Context, plan Plan) error {
	for _, p := range plan.Products {
		cmd := command.Command{ID: command.DeriveID("ecommerce", "add-product", p.SKU), Payload: p}
		if err := a.Send(ctx, cmd); err != nil {
			return fmt.Errorf("scenario: add product %s: %w", p.SKU, err)
		}
	}
	return nil
}

// Place places the plan's orders from concurrency clients at once. Each
// order's command ID derives from its ID, so placing a plan twice places
// each order once.
func (a *App) Place(ctx context.Context, plan Plan, concurrency int) error {
	next := make(chan order.Place)
	errs := make([]error, concurrency)
	// The client's spans go to the global provider the program installed
	// (a no-op without one), looked up now: a tracer kept from before an
	// SDK was installed would follow only the first one ever installed.
	tracer := otel.Tracer("github.com/chronicle-go/chronicle/examples/ecommerce")
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for p := range next {
				cmd := command.Command{ID: command.DeriveID("ecommerce", "place", p.OrderID), CorrelationID: p.OrderID, Payload: p}
				// Each order is one trace, from here to its shipment.
				ctx, span := tracer.Start(ctx, "place order", trace.WithNewRoot(), trace.WithAttributes(attribute.String("ecommerce.order_id", p.OrderID)))
				err := a.Send(ctx, cmd)
				if err != nil {
					span.SetStatus(codes.Error, err.Error())
				}
				span.End()
				if err != nil && errs[w] == nil {
					errs[w] = fmt.Errorf("scenario: place %s: %w", p.OrderID, err)
				}
			}
		})
	}
	for _, o := range plan.Orders {
		select {
		case next <- o.Place:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// WaitSettled waits until n fulfilment sagas have ended (completed, or
// compensated with every compensation sent), no carrier simulation is
// running, every order's summary is final and the read models have
// caught up. update, if not nil, is told how many orders have ended.
func (a *App) WaitSettled(ctx context.Context, n int, update func(done int)) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	unsettled := func() error {
		bg := context.WithoutCancel(ctx)
		counts, _ := a.Fulfilment.Count(bg)
		return fmt.Errorf("scenario: the run did not settle (fulfilment sagas by status: %v)%s: %w", counts, a.missingRoles(bg, n), ctx.Err())
	}
	for {
		done, err := a.settled(ctx, n, update)
		if err != nil && ctx.Err() != nil {
			return unsettled()
		}
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return unsettled()
		case <-t.C:
		}
	}
}

func (a *App) settled(ctx context.Context, n int, update func(int)) (bool, error) {
	counts, err := a.Fulfilment.Count(ctx)
	if err != nil {
		return false, err
	}
	ended := counts[saga.Completed] + counts[saga.Compensated]
	if update != nil {
		update(ended)
	}
	if ended < n || counts[saga.Running]+counts[saga.Compensating] > 0 {
		return false, nil
	}
	carriers, err := a.Carriers.Count(ctx)
	if err != nil || carriers[saga.Running] > 0 {
		return false, err
	}
	if ok, err := readmodel.CaughtUp(ctx, a.ReadModels); err != nil || !ok {
		return false, err
	}
	snap, err := a.ReadModels.Snapshot(ctx)
	if err != nil {
		return false, err
	}
	final := 0
	for _, o := range snap.Orders {
		if o.Status == string(order.StatusCompleted) || o.Status == string(order.StatusCancelled) {
			final++
		}
	}
	if final < n {
		return false, nil
	}
	// Every integration event has been published (what was published and
	// not yet applied keeps a saga running, so the sagas' state covers the
	// rest).
	if ok, err := a.relaysCaughtUp(ctx); err != nil || !ok {
		return false, err
	}
	// The summaries are final only once the order's last command was
	// handled, but its events may have landed after the status check:
	// confirm the read models still have nothing left.
	return readmodel.CaughtUp(ctx, a.ReadModels)
}

// missingRoles names, for a run that did not settle, the roles no process
// seems to run: services and read models whose projections nobody owns,
// the logistics context when nobody owns its relay, and the fulfilment
// saga when orders have no instance. It returns "" when
// it sees none (or cannot tell).
func (a *App) missingRoles(ctx context.Context, orders int) string {
	var missing []string
	if a.Backend.Owned != nil {
		owned, err := a.Backend.Owned(ctx)
		if err == nil {
			for _, s := range services {
				if !a.Roles.Has(s.role) && !owned["ecommerce-inbox-"+string(s.role)] {
					missing = append(missing, string(s.role))
				}
			}
			if !a.Roles.Has(RoleLogistics) {
				// The logistics context is seen by its relay's owner.
				if rec, err := relayRecord(ctx, a.Backend.Logistics.Relays, LogisticsRelay); err == nil && !rec.Owned {
					missing = append(missing, string(RoleLogistics))
				}
			}
			if !a.Roles.Has(RoleProjections) && !owned[readmodel.Orders] {
				missing = append(missing, string(RoleProjections))
			}
		}
	}
	if !a.Roles.Has(RoleFulfilment) {
		counts, err := a.Fulfilment.Count(ctx)
		total := 0
		for _, n := range counts {
			total += n
		}
		if err == nil && total < orders {
			missing = append(missing, string(RoleFulfilment))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("; no process seems to run the role(s) %s: start one with -role %s", strings.Join(missing, ", "), strings.Join(missing, ","))
}
