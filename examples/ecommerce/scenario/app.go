package scenario

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/fulfilment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/inventory"
	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/payment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// Backend is where a run keeps its data: the event log, the sagas' state
// and the read models.
type Backend struct {
	// Name is printed in the report ("memory", "postgres").
	Name string
	// Events is the event store.
	Events eventstore.Store
	// Sagas keeps both sagas' instances, outbox and deadlines.
	Sagas saga.Store
	// ReadModels builds the read models over Events; events decodes the
	// services' events.
	ReadModels func(events *eventstore.Registry, cfg projection.Config) (readmodel.Store, error)
	// PollInterval is how often the sagas look for deadlines and for work
	// of other processes (0: the saga engine's default).
	PollInterval time.Duration
}

// Registries returns the registry of every service's events and the
// registry of the commands the sagas send.
func Registries() (events, commands *eventstore.Registry) {
	events, commands = eventstore.NewRegistry(nil), eventstore.NewRegistry(nil)
	order.RegisterEvents(events)
	inventory.RegisterEvents(events)
	payment.RegisterEvents(events)
	logistics.RegisterEvents(events)
	order.RegisterCommands(commands)
	inventory.RegisterCommands(commands)
	payment.RegisterCommands(commands)
	logistics.RegisterCommands(commands)
	return events, commands
}

// App is the example's system on one backend: the services behind one
// command bus, the two sagas and the read models.
type App struct {
	Backend    Backend
	Events     *eventstore.Registry
	Commands   *eventstore.Registry
	Bus        *command.Bus
	Orders     *order.Service
	Inventory  *inventory.Service
	Payments   *payment.Service
	Logistics  *logistics.Service
	Fulfilment *saga.Engine
	Carriers   *saga.Engine
	ReadModels readmodel.Store
}

// AppConfig shapes an [App]. The zero value works.
type AppConfig struct {
	// PaymentDeadline: see [fulfilment.Config].
	PaymentDeadline time.Duration
	// Logger receives the engines' warnings; none by default.
	Logger *slog.Logger
}

// NewApp wires the system onto b.
func NewApp(b Backend, cfg AppConfig) (*App, error) {
	if b.Events == nil || b.Sagas == nil || b.ReadModels == nil {
		return nil, errors.New("scenario: Backend needs Events, Sagas and ReadModels")
	}
	a := &App{Backend: b}
	a.Events, a.Commands = Registries()
	a.Bus = command.NewBus(command.Config{Middleware: command.DefaultMiddleware(cfg.Logger)})
	var errs []error
	var err error
	if a.Orders, err = order.NewService(b.Events, a.Events); err == nil {
		err = a.Orders.Register(a.Bus)
	}
	errs = append(errs, err)
	if a.Inventory, err = inventory.NewService(b.Events, a.Events); err == nil {
		err = a.Inventory.Register(a.Bus)
	}
	errs = append(errs, err)
	if a.Payments, err = payment.NewService(b.Events, a.Events); err == nil {
		err = a.Payments.Register(a.Bus)
	}
	errs = append(errs, err)
	if a.Logistics, err = logistics.NewService(b.Events, a.Events); err == nil {
		err = a.Logistics.Register(a.Bus)
	}
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	scfg := saga.Config{Logger: cfg.Logger, PollInterval: b.PollInterval, DispatchWorkers: 16,
		RetryMin: 20 * time.Millisecond, RetryMax: 2 * time.Second}
	sender := saga.BusSender(a.Bus)
	def := fulfilment.Definition(a.Events, a.Commands, fulfilment.Config{PaymentDeadline: cfg.PaymentDeadline})
	if a.Fulfilment, err = saga.NewEngine(def, b.Sagas, b.Events, sender, scfg); err != nil {
		return nil, err
	}
	if a.Carriers, err = saga.NewEngine(logistics.Carriers(a.Events, a.Commands), b.Sagas, b.Events, sender, scfg); err != nil {
		return nil, err
	}
	pcfg := projection.Config{Logger: cfg.Logger, PollInterval: 100 * time.Millisecond, Backoff: 10 * time.Millisecond}
	if a.ReadModels, err = b.ReadModels(a.Events, pcfg); err != nil {
		return nil, err
	}
	return a, nil
}

// Start runs the sagas and the read models in the background until ctx
// ends; the returned function waits for them to stop.
func (a *App) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Fulfilment.Run(ctx) })
	wg.Go(func() { _ = a.Carriers.Run(ctx) })
	wg.Go(func() { _ = a.ReadModels.Run(ctx) })
	return wg.Wait
}
