package scenario

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/relay"
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
	// Order is the order context's storage for integration events (its
	// relay's state, its inbox).
	Order Integration
	// Logistics is the logistics context's own storage.
	Logistics LogisticsStorage
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
	logistics.RegisterCommands(commands)
	return events, commands
}

// services names each service of the order context with its role and its
// command registration. Logistics is a context of its own: its commands
// never travel here (see integration.go).
var services = []struct {
	role     Role
	commands func(*eventstore.Registry)
}{
	{RoleOrder, order.RegisterCommands},
	{RoleInventory, inventory.RegisterCommands},
	{RolePayment, payment.RegisterCommands},
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
	// LogisticsBus handles the logistics context's commands (the carriers'
	// scans, the inbox's bookings).
	LogisticsBus *command.Bus
	// Relays and Inboxes are this process's integration relays and
	// inboxes (see integration.go).
	Relays  []*relay.Relay
	Inboxes []InboxRunner
	// Transport is the broker between the contexts.
	Transport *Transport
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
	// Transport is the broker between the order and logistics contexts;
	// nil means a new in-process one ([MemoryTransport]).
	Transport *Transport
}

// NewApp wires the system onto b. Every process can send every command
// and read every read model and saga; it runs only its roles: the command
// handlers of its services (and their inbox consumers), the sagas and the
// projections.
func NewApp(b Backend, cfg AppConfig) (*App, error) {
	if b.Events == nil || b.Sagas == nil || b.ReadModels == nil {
		return nil, errors.New("scenario: Backend needs Events, Sagas and ReadModels")
	}
	if b.Logistics.Events == nil || b.Logistics.Sagas == nil || b.Logistics.Relays == nil || b.Order.Relays == nil {
		return nil, errors.New("scenario: Backend needs the logistics context's storage and both contexts' integration storage")
	}
	roles := cfg.Roles
	if len(roles) == 0 {
		roles = AllRoles
	}
	t := cfg.Transport
	if t == nil {
		t = MemoryTransport()
	}
	if t.Local && roles.Has(RoleOrder) != roles.Has(RoleLogistics) {
		return nil, errors.New("scenario: the in-process broker joins the order and logistics contexts only within one process: give -broker to run them apart")
	}
	if roles.Has(RoleCarriers) && !roles.Has(RoleLogistics) {
		return nil, errors.New("scenario: the carrier simulation runs in the logistics context's process: add the logistics role")
	}
	a := &App{Backend: b, Roles: roles, Transport: t}
	a.Events, a.Commands = Registries()
	var errs []error
	var err error
	if a.Bus, err = command.NewBus(command.Config{Middleware: command.DefaultMiddleware(cfg.Logger)}); err != nil {
		return nil, err
	}
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
	if a.LogisticsBus, err = command.NewBus(command.Config{Middleware: command.DefaultMiddleware(cfg.Logger)}); err != nil {
		return nil, err
	}
	a.Logistics, err = logistics.NewService(b.Logistics.Events, a.Events)
	if err == nil && roles.Has(RoleLogistics) {
		err = a.Logistics.Register(a.LogisticsBus)
	}
	errs = append(errs, err)
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
	if a.Carriers, err = saga.NewEngine(logistics.Carriers(a.Events, a.Commands), b.Logistics.Sagas, b.Logistics.Events, busSender{a.LogisticsBus}, scfg); err != nil {
		return nil, err
	}
	pcfg := projection.Config{Logger: cfg.Logger, PollInterval: 100 * time.Millisecond, Backoff: 10 * time.Millisecond}
	if a.ReadModels, err = b.ReadModels(a.Events, pcfg); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.integration(wctx, t); err != nil {
		return nil, fmt.Errorf("scenario: integration events over %s: %w", t.Name, err)
	}
	if !roles.Has(RoleOrder) || !roles.Has(RoleInventory) || !roles.Has(RolePayment) {
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
	for _, r := range a.Relays {
		wg.Go(func() { _ = r.Run(ctx) })
	}
	for _, in := range a.Inboxes {
		wg.Go(func() { _ = in.Run(ctx) })
	}
	return wg.Wait
}

// busSender sends a saga's commands through a command bus.
type busSender struct{ bus *command.Bus }

func (s busSender) Send(ctx context.Context, cmd command.Command) error {
	_, err := s.bus.Send(ctx, cmd)
	return err
}
