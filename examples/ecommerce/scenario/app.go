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
	// Inbox returns the consumer of a service's inbox: a checkpointed
	// subscription, named name, to the streams starting with prefix, that
	// calls handle on each event of the given types.
	Inbox func(name, prefix string, types []string, handle func(context.Context, eventstore.RecordedEvent) error, cfg projection.Config) (Consumer, error)
	// Owned, if set, returns the projections (read models and inbox
	// consumers, by name) some process owns now: with several processes, a
	// run that does not settle names the roles nobody runs.
	Owned func(ctx context.Context) (map[string]bool, error)
}

// Registries returns the registry of every service's events and the
// registry of every service's commands.
func Registries() (events, commands *eventstore.Registry) {
	events, commands = eventstore.NewRegistry(nil), eventstore.NewRegistry(nil)
	order.RegisterEvents(events)
	inventory.RegisterEvents(events)
	payment.RegisterEvents(events)
	logistics.RegisterEvents(events)
	for _, s := range services {
		s.commands(commands)
	}
	return events, commands
}

// services names each service's role and its command registration.
var services = []struct {
	role     Role
	commands func(*eventstore.Registry)
}{
	{RoleOrder, order.RegisterCommands},
	{RoleInventory, inventory.RegisterCommands},
	{RolePayment, payment.RegisterCommands},
	{RoleLogistics, logistics.RegisterCommands},
}

// commandOwners maps each command type name to the service handling it.
func commandOwners() map[string]Role {
	owners := map[string]Role{}
	for _, s := range services {
		r := eventstore.NewRegistry(nil)
		s.commands(r)
		for _, t := range r.Types() {
			owners[t] = s.role
		}
	}
	return owners
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
	// Roles are the parts this process runs.
	Roles Roles

	router    *router
	consumers []Consumer
}

// AppConfig shapes an [App]. The zero value works.
type AppConfig struct {
	// PaymentDeadline: see [fulfilment.Config].
	PaymentDeadline time.Duration
	// Logger receives the engines' warnings; none by default.
	Logger *slog.Logger
	// Roles are the parts of the system this process runs; empty means
	// every one (see [AllRoles]).
	Roles Roles
}

// NewApp wires the system onto b. Every process can send every command
// and read every read model and saga; it runs only its roles: the command
// handlers of its services (and their inbox consumers), the sagas and the
// projections.
func NewApp(b Backend, cfg AppConfig) (*App, error) {
	if b.Events == nil || b.Sagas == nil || b.ReadModels == nil {
		return nil, errors.New("scenario: Backend needs Events, Sagas and ReadModels")
	}
	roles := cfg.Roles
	if len(roles) == 0 {
		roles = AllRoles
	}
	a := &App{Backend: b, Roles: roles}
	a.Events, a.Commands = Registries()
	a.Bus = command.NewBus(command.Config{Middleware: command.DefaultMiddleware(cfg.Logger)})
	var errs []error
	var err error
	register := func(role Role, s interface{ Register(*command.Bus) error }, err error) error {
		if err != nil || !roles.Has(role) {
			return err
		}
		return s.Register(a.Bus)
	}
	a.Orders, err = order.NewService(b.Events, a.Events)
	errs = append(errs, register(RoleOrder, a.Orders, err))
	a.Inventory, err = inventory.NewService(b.Events, a.Events)
	errs = append(errs, register(RoleInventory, a.Inventory, err))
	a.Payments, err = payment.NewService(b.Events, a.Events)
	errs = append(errs, register(RolePayment, a.Payments, err))
	a.Logistics, err = logistics.NewService(b.Events, a.Events)
	errs = append(errs, register(RoleLogistics, a.Logistics, err))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a.router = &router{bus: a.Bus, store: b.Events, commands: a.Commands, owner: commandOwners()}
	scfg := saga.Config{Logger: cfg.Logger, PollInterval: b.PollInterval, DispatchWorkers: 16,
		RetryMin: 20 * time.Millisecond, RetryMax: 2 * time.Second}
	sender := a.router
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
	if !roles.Has(RoleOrder) || !roles.Has(RoleInventory) || !roles.Has(RolePayment) || !roles.Has(RoleLogistics) {
		// Some service runs elsewhere: consume the inboxes of ours.
		if b.Inbox == nil {
			return nil, errors.New("scenario: this backend cannot carry commands between processes")
		}
		owners := commandOwners()
		for _, s := range services {
			if !roles.Has(s.role) {
				continue
			}
			var types []string
			for t, o := range owners {
				if o == s.role {
					types = append(types, t)
				}
			}
			c, err := b.Inbox("ecommerce-inbox-"+string(s.role), InboxPrefix(s.role), types, a.router.deliver, pcfg)
			if err != nil {
				return nil, err
			}
			a.consumers = append(a.consumers, c)
		}
	}
	return a, nil
}

// Start runs this process's roles — sagas, read models, inbox consumers —
// in the background until ctx ends; the returned function waits for them
// to stop.
func (a *App) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	if a.Roles.Has(RoleFulfilment) {
		wg.Go(func() { _ = a.Fulfilment.Run(ctx) })
	}
	if a.Roles.Has(RoleCarriers) {
		wg.Go(func() { _ = a.Carriers.Run(ctx) })
	}
	if a.Roles.Has(RoleProjections) {
		wg.Go(func() { _ = a.ReadModels.Run(ctx) })
	}
	for _, c := range a.consumers {
		wg.Go(func() { _ = c.Run(ctx) })
	}
	return wg.Wait
}
