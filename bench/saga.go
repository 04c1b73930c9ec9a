package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/saga"
	sagamem "github.com/chronicle-go/chronicle/saga/memory"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// W8's events and commands. The saga: SagaOrderPlaced starts it and sends
// ReserveStock; SagaStockReserved (step "stock") sends ChargePayment;
// SagaPaymentCharged (step "payment") sends ConfirmOrder; SagaOrderConfirmed
// completes it. Each command's handler appends the next event: four events
// and three commands per saga, in three streams (order-, stock-, payment-).
type (
	sagaOrderPlaced struct {
		OrderID string `json:"order_id"`
	}
	sagaStockReserved struct {
		OrderID string `json:"order_id"`
	}
	sagaPaymentCharged struct {
		OrderID string `json:"order_id"`
	}
	sagaOrderConfirmed struct {
		OrderID string `json:"order_id"`
	}
	reserveStock struct {
		OrderID string `json:"order_id"`
	}
	chargePayment struct {
		OrderID string `json:"order_id"`
	}
	confirmOrder struct {
		OrderID string `json:"order_id"`
	}
	releaseStock struct {
		OrderID string `json:"order_id"`
	}
	refundPayment struct {
		OrderID string `json:"order_id"`
	}
)

// fulfilment is W8's saga state.
type fulfilment struct {
	Stage string `json:"stage"`
}

const sagaName = "w8-fulfilment"

var sagaEventTypes = []string{"SagaOrderPlaced", "SagaStockReserved", "SagaPaymentCharged", "SagaOrderConfirmed"}

func sagaRegistries() (events, commands *eventstore.Registry) {
	events = eventstore.NewRegistry(nil)
	eventstore.MustRegister[sagaOrderPlaced](events, sagaEventTypes[0])
	eventstore.MustRegister[sagaStockReserved](events, sagaEventTypes[1])
	eventstore.MustRegister[sagaPaymentCharged](events, sagaEventTypes[2])
	eventstore.MustRegister[sagaOrderConfirmed](events, sagaEventTypes[3])
	commands = eventstore.NewRegistry(nil)
	eventstore.MustRegister[reserveStock](commands, "ReserveStock")
	eventstore.MustRegister[chargePayment](commands, "ChargePayment")
	eventstore.MustRegister[confirmOrder](commands, "ConfirmOrder")
	eventstore.MustRegister[releaseStock](commands, "ReleaseStock")
	eventstore.MustRegister[refundPayment](commands, "RefundPayment")
	return events, commands
}

func fulfilmentSaga(events, commands *eventstore.Registry) *saga.Definition[fulfilment] {
	d := saga.New[fulfilment](sagaName, saga.Options{Commands: commands, Events: events})
	d.Step("stock", func(s fulfilment) any { return nil })
	d.Step("payment", func(s fulfilment) any { return nil })
	saga.Start(d, sagaEventTypes[0], func(e sagaOrderPlaced) string { return e.OrderID },
		func(ctx context.Context, s *saga.Scope[fulfilment], e sagaOrderPlaced) error {
			s.State().Stage = "reserving"
			s.Send(reserveStock(e))
			return nil
		})
	saga.On(d, sagaEventTypes[1], func(e sagaStockReserved) string { return e.OrderID },
		func(ctx context.Context, s *saga.Scope[fulfilment], e sagaStockReserved) error {
			s.StepDone("stock")
			s.State().Stage = "charging"
			s.Send(chargePayment(e))
			return nil
		})
	saga.On(d, sagaEventTypes[2], func(e sagaPaymentCharged) string { return e.OrderID },
		func(ctx context.Context, s *saga.Scope[fulfilment], e sagaPaymentCharged) error {
			s.StepDone("payment")
			s.State().Stage = "confirming"
			s.Send(confirmOrder(e))
			return nil
		})
	saga.On(d, sagaEventTypes[3], func(e sagaOrderConfirmed) string { return e.OrderID },
		func(ctx context.Context, s *saga.Scope[fulfilment], e sagaOrderConfirmed) error {
			s.State().Stage = "done"
			s.Complete()
			return nil
		})
	return d
}

// sagaStep is what a command does: append one event to a stream at a known
// version, with the command's ID as the event's ID, so a command sent again
// is an idempotent append.
type sagaStep struct {
	stream   string
	expected uint64
	event    any
}

func stepOf(cmd any) (sagaStep, error) {
	switch c := cmd.(type) {
	case reserveStock:
		return sagaStep{"stock-" + c.OrderID, 0, sagaStockReserved(c)}, nil
	case chargePayment:
		return sagaStep{"payment-" + c.OrderID, 0, sagaPaymentCharged(c)}, nil
	case confirmOrder:
		return sagaStep{"order-" + c.OrderID, 1, sagaOrderConfirmed(c)}, nil
	}
	return sagaStep{}, fmt.Errorf("W8: unexpected command %T", cmd)
}

// sagaBus is the services' command bus: each handler appends its event to
// store.
func sagaBus(store eventstore.Store, events *eventstore.Registry) *command.Bus {
	bus, _ := command.NewBus(command.Config{}) // the zero Config is valid
	handle := func(ctx context.Context, cmd any) error {
		c, _ := command.FromContext(ctx)
		st, err := stepOf(cmd)
		if err != nil {
			return err
		}
		ev, err := events.Encode(st.event, eventstore.Metadata{CorrelationID: c.CorrelationID, CausationID: c.ID.String()})
		if err != nil {
			return err
		}
		ev.ID = c.ID
		_, err = store.Append(ctx, st.stream, eventstore.Exact(st.expected), ev)
		return err
	}
	command.MustHandleFunc(bus, func(ctx context.Context, c reserveStock) error { return handle(ctx, c) })
	command.MustHandleFunc(bus, func(ctx context.Context, c chargePayment) error { return handle(ctx, c) })
	command.MustHandleFunc(bus, func(ctx context.Context, c confirmOrder) error { return handle(ctx, c) })
	return bus
}

// sagaCase is W8: sagas end to end. Each round places n orders (8 writers)
// while the saga engine runs, and ends when all n sagas have completed:
// chronicle's saga.Engine on the PostgreSQL saga store and event store,
// commands through a command.Bus whose handlers append to the event store;
// the baseline a hand-written engine on the same-shaped tables doing the
// same SQL work (see baselineSagas); memory: the engine on the memory
// stores. The check: every saga of every round completed, nothing parked,
// no command failing.
func (e *env) sagaCase(ctx context.Context, n int) (*benchCase, error) {
	evReg, cmdReg := sagaRegistries()
	pgStore, err := sagapg.New(e.pool, sagapg.Config{Schema: e.schema})
	if err != nil {
		return nil, err
	}
	if err := pgStore.Migrate(ctx); err != nil {
		return nil, err
	}
	base, err := e.newBaselineSagas(ctx, evReg, cmdReg)
	if err != nil {
		return nil, err
	}
	mem := memory.New(memory.Config{})
	cfg := saga.Config{Logger: e.log, PollInterval: 50 * time.Millisecond}
	pgEngine, err := saga.NewEngine(fulfilmentSaga(evReg, cmdReg), pgStore, e.events, saga.BusSender(sagaBus(e.events, evReg)), cfg)
	if err != nil {
		return nil, err
	}
	memEngine, err := saga.NewEngine(fulfilmentSaga(evReg, cmdReg), sagamem.New(), mem, saga.BusSender(sagaBus(mem, evReg)), cfg)
	if err != nil {
		return nil, err
	}

	// Each variant's engine runs only during its own rounds, so that an
	// idle engine's polling never weighs on another variant's round.
	running := func(run func(context.Context) error) func(ctx context.Context) func() error {
		return func(ctx context.Context) func() error {
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- run(ctx) }()
			return func() error {
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
				return nil
			}
		}
	}
	engineCount := func(en *saga.Engine) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			c, err := en.Count(ctx)
			return c[saga.Completed], err
		}
	}
	round := func(name string, store appender, start func(context.Context) func() error, completed func(context.Context) (int, error)) roundFunc {
		return func(ctx context.Context, round int) (_ sample, err error) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%s-r%d-%d", name, round, i)
			}
			before, err := completed(ctx)
			if err != nil {
				return sample{}, err
			}
			began := time.Now()
			stop := start(ctx)
			defer func() {
				if serr := stop(); err == nil && serr != nil {
					err = fmt.Errorf("engine: %w", serr)
				}
			}()
			var pwg sync.WaitGroup
			errs := make([]error, writers)
			for w := range writers {
				pwg.Go(func() {
					for i := w; i < n && errs[w] == nil; i += writers {
						ev, err := evReg.Encode(sagaOrderPlaced{OrderID: ids[i]}, eventstore.Metadata{CorrelationID: ids[i]})
						if err != nil {
							errs[w] = err
							return
						}
						ev.ID = eventstore.NewEventID()
						if _, ok, err := store(ctx, "order-"+ids[i], 0, []eventstore.Event{ev}); err != nil || !ok {
							errs[w] = fmt.Errorf("place %s: ok=%v: %v", ids[i], ok, err)
						}
					}
				})
			}
			pwg.Wait()
			if err := errors.Join(errs...); err != nil {
				return sample{}, err
			}
			for {
				done, err := completed(ctx)
				if err != nil {
					return sample{}, err
				}
				if done-before >= n {
					break
				}
				select {
				case <-ctx.Done():
					return sample{}, fmt.Errorf("%d of %d sagas completed: %w", done-before, n, ctx.Err())
				case <-time.After(5 * time.Millisecond):
				}
			}
			return sample{n: n, elapsed: time.Since(began)}, nil
		}
	}
	c := &benchCase{id: "W8", title: fmt.Sprintf("sagas end to end (%d per round, 4 events and 3 commands each)", n), unit: "sagas"}
	c.variants = []variant{
		{name: chronicleVariant, round: round(chronicleVariant, storeAppender(e.events), running(pgEngine.Run), engineCount(pgEngine))},
		{name: baselineVariant, round: round(baselineVariant, e.baselineAppender(), running(base.run), base.completed)},
		{name: memoryVariant, round: round(memoryVariant, storeAppender(mem), running(memEngine.Run), engineCount(memEngine))},
	}
	c.check = func(ctx context.Context) error {
		for _, v := range []struct {
			name   string
			engine *saga.Engine
		}{{chronicleVariant, pgEngine}, {memoryVariant, memEngine}} {
			counts, err := v.engine.Count(ctx)
			if err != nil {
				return err
			}
			total := 0
			for _, k := range counts {
				total += k
			}
			if counts[saga.Completed] != total || total == 0 {
				return fmt.Errorf("%s: saga instances by status %v: not all completed", v.name, counts)
			}
			failing, err := v.engine.FailingCommands(ctx)
			if err != nil {
				return err
			}
			parked, err := v.engine.Parked(ctx)
			if err != nil {
				return err
			}
			if len(failing) > 0 || len(parked) > 0 {
				return fmt.Errorf("%s: %d commands failing, %d events parked", v.name, len(failing), len(parked))
			}
		}
		if err := base.check(ctx); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		return nil
	}
	return c, nil
}

// sagaOrderID returns the order an event of W8 concerns.
func sagaOrderID(v any) string {
	switch e := v.(type) {
	case sagaOrderPlaced:
		return e.OrderID
	case sagaStockReserved:
		return e.OrderID
	case sagaPaymentCharged:
		return e.OrderID
	case sagaOrderConfirmed:
		return e.OrderID
	}
	return ""
}
