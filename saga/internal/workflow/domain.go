// Package workflow is the test domain of the saga packages: a small
// order → stock → payment → shipment fulfilment saga and the four
// in-process services that handle its commands by appending events. The
// scenarios that run it on a store are the public
// [github.com/chronicle-go/chronicle/saga/sagatest.RunWorkflow]; the saga
// benchmarks run it too. It is not part of the public API.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// Events.
type (
	OrderPlaced struct {
		OrderID string `json:"order_id"`
		Amount  int    `json:"amount"`
		// Fail names the step that fails: "stock", "payment", "shipment",
		// "payment-timeout" (the payment service never answers),
		// "shipment-refused" (the shipment service refuses the command
		// with an error, recording nothing), or "".
		Fail string `json:"fail,omitempty"`
	}
	OrderConfirmed struct {
		OrderID string `json:"order_id"`
	}
	OrderCancelled struct {
		OrderID string `json:"order_id"`
	}
	StockReserved struct {
		OrderID string `json:"order_id"`
	}
	StockUnavailable struct {
		OrderID string `json:"order_id"`
	}
	StockReleased struct {
		OrderID string `json:"order_id"`
	}
	PaymentCharged struct {
		OrderID string `json:"order_id"`
	}
	PaymentDeclined struct {
		OrderID string `json:"order_id"`
	}
	PaymentRefunded struct {
		OrderID string `json:"order_id"`
	}
	ShipmentCreated struct {
		OrderID string `json:"order_id"`
	}
	ShipmentFailed struct {
		OrderID string `json:"order_id"`
	}
	ShipmentCancelled struct {
		OrderID string `json:"order_id"`
	}
)

// Commands. Fail tells a service to refuse (a business failure recorded as
// an event); Ignore tells it to record nothing.
type (
	ReserveStock struct {
		OrderID string
		Fail    bool
	}
	ReleaseStock  struct{ OrderID string }
	ChargePayment struct {
		OrderID      string
		Fail, Ignore bool
	}
	RefundPayment  struct{ OrderID string }
	CreateShipment struct {
		OrderID      string
		Fail, Refuse bool
	}
	CancelShipment struct{ OrderID string }
	ConfirmOrder   struct{ OrderID string }
	CancelOrder    struct{ OrderID string }
)

// State is the fulfilment saga's state.
type State struct {
	OrderID string `json:"order_id"`
	Amount  int    `json:"amount"`
	Fail    string `json:"fail,omitempty"`
}

// Name is the saga type name.
const Name = "fulfilment"

// PaymentTimeout is how long the saga waits for the payment's answer.
const PaymentTimeout = 15 * time.Minute

// Registries returns the event and command registries of the domain.
func Registries() (events, commands *eventstore.Registry) {
	events = eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](events, "OrderPlaced")
	eventstore.MustRegister[OrderConfirmed](events, "OrderConfirmed")
	eventstore.MustRegister[OrderCancelled](events, "OrderCancelled")
	eventstore.MustRegister[StockReserved](events, "StockReserved")
	eventstore.MustRegister[StockUnavailable](events, "StockUnavailable")
	eventstore.MustRegister[StockReleased](events, "StockReleased")
	eventstore.MustRegister[PaymentCharged](events, "PaymentCharged")
	eventstore.MustRegister[PaymentDeclined](events, "PaymentDeclined")
	eventstore.MustRegister[PaymentRefunded](events, "PaymentRefunded")
	eventstore.MustRegister[ShipmentCreated](events, "ShipmentCreated")
	eventstore.MustRegister[ShipmentFailed](events, "ShipmentFailed")
	eventstore.MustRegister[ShipmentCancelled](events, "ShipmentCancelled")
	commands = eventstore.NewRegistry(nil)
	eventstore.MustRegister[ReserveStock](commands, "ReserveStock")
	eventstore.MustRegister[ReleaseStock](commands, "ReleaseStock")
	eventstore.MustRegister[ChargePayment](commands, "ChargePayment")
	eventstore.MustRegister[RefundPayment](commands, "RefundPayment")
	eventstore.MustRegister[CreateShipment](commands, "CreateShipment")
	eventstore.MustRegister[CancelShipment](commands, "CancelShipment")
	eventstore.MustRegister[ConfirmOrder](commands, "ConfirmOrder")
	eventstore.MustRegister[CancelOrder](commands, "CancelOrder")
	return events, commands
}

// Definition returns the fulfilment saga.
func Definition(events, commands *eventstore.Registry) *saga.Definition[State] {
	d := saga.New[State](Name, saga.Options{Events: events, Commands: commands})
	d.Step("order", func(s State) any { return CancelOrder{OrderID: s.OrderID} })
	d.Step("stock", func(s State) any { return ReleaseStock{OrderID: s.OrderID} })
	d.Step("payment", func(s State) any { return RefundPayment{OrderID: s.OrderID} })
	d.Step("shipment", func(s State) any { return CancelShipment{OrderID: s.OrderID} })

	saga.Start(d, "OrderPlaced", func(e OrderPlaced) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e OrderPlaced) error {
			*s.State() = State{OrderID: e.OrderID, Amount: e.Amount, Fail: e.Fail}
			s.StepDone("order")
			s.Send(ReserveStock{OrderID: e.OrderID, Fail: e.Fail == "stock"})
			return nil
		})
	saga.On(d, "StockReserved", func(e StockReserved) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e StockReserved) error {
			st := s.State()
			s.StepDone("stock")
			s.Send(ChargePayment{OrderID: st.OrderID, Fail: st.Fail == "payment", Ignore: st.Fail == "payment-timeout"})
			s.Schedule("payment", PaymentTimeout)
			return nil
		})
	saga.On(d, "StockUnavailable", func(e StockUnavailable) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e StockUnavailable) error {
			s.Fail("out of stock")
			return nil
		})
	saga.On(d, "PaymentCharged", func(e PaymentCharged) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e PaymentCharged) error {
			s.Cancel("payment")
			s.StepDone("payment")
			fail := s.State().Fail
			s.Send(CreateShipment{OrderID: e.OrderID, Fail: fail == "shipment", Refuse: fail == "shipment-refused"})
			return nil
		})
	saga.On(d, "PaymentDeclined", func(e PaymentDeclined) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e PaymentDeclined) error {
			s.Cancel("payment")
			s.Fail("payment declined")
			return nil
		})
	saga.On(d, "ShipmentCreated", func(e ShipmentCreated) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e ShipmentCreated) error {
			s.StepDone("shipment")
			s.Send(ConfirmOrder{OrderID: e.OrderID})
			s.Complete()
			return nil
		})
	saga.On(d, "ShipmentFailed", func(e ShipmentFailed) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e ShipmentFailed) error {
			s.Fail("shipment failed")
			return nil
		})
	return d
}

// Services are the four in-process services: command handlers on a bus
// that append one event per command, with an event ID derived from the
// command ID, so a command delivered twice appends once. A decision that
// is an error is returned instead (a refusal).
type Services struct {
	Store  eventstore.Store
	Events *eventstore.Registry
	Bus    *command.Bus

	mu        sync.Mutex
	delivered map[uuid.UUID]int // command ID → deliveries
}

// NewServices registers the services' handlers on a new bus.
func NewServices(store eventstore.Store, events *eventstore.Registry) *Services {
	bus, _ := command.NewBus(command.Config{}) // the zero Config is valid
	s := &Services{Store: store, Events: events, Bus: bus, delivered: map[uuid.UUID]int{}}
	handle(s, func(c ReserveStock) (string, any) {
		if c.Fail {
			return "stock-" + c.OrderID, StockUnavailable{c.OrderID}
		}
		return "stock-" + c.OrderID, StockReserved{c.OrderID}
	})
	handle(s, func(c ReleaseStock) (string, any) { return "stock-" + c.OrderID, StockReleased{c.OrderID} })
	handle(s, func(c ChargePayment) (string, any) {
		switch {
		case c.Ignore:
			return "", nil
		case c.Fail:
			return "payment-" + c.OrderID, PaymentDeclined{c.OrderID}
		}
		return "payment-" + c.OrderID, PaymentCharged{c.OrderID}
	})
	handle(s, func(c RefundPayment) (string, any) { return "payment-" + c.OrderID, PaymentRefunded{c.OrderID} })
	handle(s, func(c CreateShipment) (string, any) {
		if c.Refuse {
			return "", command.Refusef("no carrier serves order %s", c.OrderID)
		}
		if c.Fail {
			return "shipment-" + c.OrderID, ShipmentFailed{c.OrderID}
		}
		return "shipment-" + c.OrderID, ShipmentCreated{c.OrderID}
	})
	handle(s, func(c CancelShipment) (string, any) { return "shipment-" + c.OrderID, ShipmentCancelled{c.OrderID} })
	handle(s, func(c ConfirmOrder) (string, any) { return "order-" + c.OrderID, OrderConfirmed{c.OrderID} })
	handle(s, func(c CancelOrder) (string, any) { return "order-" + c.OrderID, OrderCancelled{c.OrderID} })
	return s
}

func handle[C any](s *Services, decide func(C) (stream string, event any)) {
	command.MustHandleFunc(s.Bus, func(ctx context.Context, c C) error {
		env, ok := command.FromContext(ctx)
		if !ok {
			return errors.New("workflow: no command envelope")
		}
		s.mu.Lock()
		s.delivered[env.ID]++
		s.mu.Unlock()
		stream, v := decide(c)
		if v == nil {
			return nil
		}
		if err, ok := v.(error); ok {
			return err
		}
		e, err := s.Events.Encode(v, eventstore.Metadata{CorrelationID: env.CorrelationID, CausationID: env.ID.String()})
		if err != nil {
			return err
		}
		e.ID = command.DeriveID(env.ID.String(), "event")
		_, err = s.Store.Append(ctx, stream, eventstore.Any, e)
		if errors.Is(err, eventstore.ErrDuplicateEventID) {
			return nil // delivered before: applied once
		}
		return err
	})
}

// Deliveries returns how many times the command with id reached a service.
func (s *Services) Deliveries(id uuid.UUID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered[id]
}

// Place appends OrderPlaced for a new order.
func (s *Services) Place(ctx context.Context, orderID, fail string) error {
	e, err := s.Events.Encode(OrderPlaced{OrderID: orderID, Amount: 100, Fail: fail}, eventstore.Metadata{CorrelationID: orderID})
	if err != nil {
		return err
	}
	_, err = s.Store.Append(ctx, "order-"+orderID, eventstore.NoStream, e)
	return err
}

// Types returns the event types of a stream, in order.
func (s *Services) Types(ctx context.Context, stream string) ([]string, error) {
	var out []string
	for e, err := range s.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				return nil, nil
			}
			return nil, err
		}
		out = append(out, e.Type)
	}
	return out, nil
}

// Expectation is how an order with a given failure mode must end.
type Expectation struct {
	Status   saga.Status
	Commands []string            // command types sent, in order
	Streams  map[string][]string // stream prefix → event types
}

// Expect returns the expectation for a failure mode.
func Expect(fail string) Expectation {
	switch fail {
	case "stock":
		return Expectation{saga.Compensated, []string{"ReserveStock", "CancelOrder"}, map[string][]string{
			"order-": {"OrderPlaced", "OrderCancelled"}, "stock-": {"StockUnavailable"}, "payment-": nil, "shipment-": nil}}
	case "payment":
		return Expectation{saga.Compensated, []string{"ReserveStock", "ChargePayment", "ReleaseStock", "CancelOrder"}, map[string][]string{
			"order-": {"OrderPlaced", "OrderCancelled"}, "stock-": {"StockReserved", "StockReleased"},
			"payment-": {"PaymentDeclined"}, "shipment-": nil}}
	case "payment-timeout":
		return Expectation{saga.Compensated, []string{"ReserveStock", "ChargePayment", "ReleaseStock", "CancelOrder"}, map[string][]string{
			"order-": {"OrderPlaced", "OrderCancelled"}, "stock-": {"StockReserved", "StockReleased"},
			"payment-": nil, "shipment-": nil}}
	case "shipment":
		return Expectation{saga.Compensated, []string{"ReserveStock", "ChargePayment", "CreateShipment", "RefundPayment", "ReleaseStock", "CancelOrder"},
			map[string][]string{"order-": {"OrderPlaced", "OrderCancelled"}, "stock-": {"StockReserved", "StockReleased"},
				"payment-": {"PaymentCharged", "PaymentRefunded"}, "shipment-": {"ShipmentFailed"}}}
	case "shipment-refused":
		return Expectation{saga.Compensated, []string{"ReserveStock", "ChargePayment", "CreateShipment", "RefundPayment", "ReleaseStock", "CancelOrder"},
			map[string][]string{"order-": {"OrderPlaced", "OrderCancelled"}, "stock-": {"StockReserved", "StockReleased"},
				"payment-": {"PaymentCharged", "PaymentRefunded"}, "shipment-": nil}}
	}
	return Expectation{saga.Completed, []string{"ReserveStock", "ChargePayment", "CreateShipment", "ConfirmOrder"}, map[string][]string{
		"order-": {"OrderPlaced", "OrderConfirmed"}, "stock-": {"StockReserved"}, "payment-": {"PaymentCharged"},
		"shipment-": {"ShipmentCreated"}}}
}

// Check compares an order's end against the expectation of its failure
// mode: status, no event handled twice, commands sent in order, and the
// events in each service's stream (each command applied exactly once).
func Check(ctx context.Context, e *saga.Engine, s *Services, orderID, fail string) error {
	want := Expect(fail)
	h, err := e.History(ctx, orderID)
	if err != nil {
		return err
	}
	var errs []error
	if h.Instance.Status != want.Status {
		errs = append(errs, fmt.Errorf("status %s, want %s", h.Instance.Status, want.Status))
	}
	var types []string
	for _, c := range h.Commands {
		types = append(types, c.Type)
		if !c.Sent() {
			errs = append(errs, fmt.Errorf("command %d %s not sent", c.Seq, c.Type))
		}
		if n := s.Deliveries(c.ID); n < 1 {
			errs = append(errs, fmt.Errorf("command %d %s never delivered", c.Seq, c.Type))
		}
	}
	handled := map[uuid.UUID]bool{}
	for _, en := range h.Entries {
		if en.Kind != saga.EventHandled {
			continue
		}
		if handled[en.EventID] {
			errs = append(errs, fmt.Errorf("event %s (%s) handled twice", en.EventID, en.EventType))
		}
		handled[en.EventID] = true
	}
	if fmt.Sprint(types) != fmt.Sprint(want.Commands) {
		errs = append(errs, fmt.Errorf("commands %v, want %v", types, want.Commands))
	}
	for prefix, wantTypes := range want.Streams {
		got, err := s.Types(ctx, prefix+orderID)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(wantTypes) {
			errs = append(errs, fmt.Errorf("stream %s%s: %v, want %v", prefix, orderID, got, wantTypes))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("order %s (fail %q): %w", orderID, fail, err)
	}
	return nil
}
