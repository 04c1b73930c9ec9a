package fulfilment

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/inventory"
	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/payment"
)

// Name is the saga type name.
const Name = "fulfilment"

// MaxLines is the most lines an order may have: each reserved line is a
// step with its own compensation.
const MaxLines = 4

// The reasons a fulfilment fails: the kinds of compensation.
const (
	ReasonOutOfStock      = "out-of-stock"
	ReasonPaymentDeclined = "payment-declined"
	ReasonDeadlineExpired = "payment-deadline-expired"
	ReasonShipmentFailed  = "shipment-failed"
)

// Reasons lists the failure reasons in a stable order, for reports.
var Reasons = []string{ReasonOutOfStock, ReasonPaymentDeclined, ReasonDeadlineExpired, ReasonShipmentFailed}

// Config shapes the saga. The zero value works.
type Config struct {
	// PaymentDeadline is how long the saga waits for the payment's outcome
	// before it voids the charge (default 2s: the example's payment
	// provider answers at once or never).
	PaymentDeadline time.Duration
}

// State is the saga's state for one order.
type State struct {
	OrderID   string        `json:"order_id"`
	Lines     []order.Line  `json:"lines"`
	Total     int64         `json:"total"`
	CardToken string        `json:"card_token"`
	Address   order.Address `json:"address"`
	Reserved  int           `json:"reserved"`
	Failure   string        `json:"failure,omitempty"`
	Shipment  string        `json:"shipment,omitempty"`
	Carrier   string        `json:"carrier,omitempty"`
}

// Definition returns the fulfilment saga. events decodes the services'
// events; commands encodes the commands it sends (every service's
// RegisterCommands).
func Definition(events, commands *eventstore.Registry, cfg Config) *saga.Definition[State] {
	deadline := cfg.PaymentDeadline
	if deadline <= 0 {
		deadline = 2 * time.Second
	}
	d := saga.New[State](Name, saga.Options{Events: events, Commands: commands})
	d.Step("order", func(s State) any { return order.Cancel{OrderID: s.OrderID, Reason: s.Failure} })
	for i := range MaxLines {
		d.Step(stockStep(i), func(s State) any {
			if i >= len(s.Lines) {
				return nil
			}
			return inventory.Release{OrderID: s.OrderID, SKU: s.Lines[i].SKU}
		})
	}
	d.Step("payment", func(s State) any { return payment.Refund{OrderID: s.OrderID} })
	fail := func(s *saga.Scope[State], reason string) {
		s.State().Failure = reason
		s.Fail(reason)
	}

	saga.Start(d, "OrderPlaced", func(e order.Placed) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e order.Placed) error {
			if len(e.Lines) > MaxLines {
				return fmt.Errorf("fulfilment: order %s has %d lines, at most %d are supported", e.OrderID, len(e.Lines), MaxLines)
			}
			*s.State() = State{OrderID: e.OrderID, Lines: e.Lines, Total: e.Total, CardToken: e.CardToken, Address: e.Address}
			s.StepDone("order")
			l := e.Lines[0]
			s.Send(inventory.Reserve{OrderID: e.OrderID, SKU: l.SKU, Qty: l.Qty})
			return nil
		})
	saga.On(d, "StockReserved", func(e inventory.Reserved) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e inventory.Reserved) error {
			st := s.State()
			i := slices.IndexFunc(st.Lines, func(l order.Line) bool { return l.SKU == e.SKU })
			if i < 0 {
				return fmt.Errorf("fulfilment: order %s reserved %s, which it does not hold", st.OrderID, e.SKU)
			}
			s.StepDone(stockStep(i))
			st.Reserved++
			if st.Reserved < len(st.Lines) {
				l := st.Lines[st.Reserved]
				s.Send(inventory.Reserve{OrderID: st.OrderID, SKU: l.SKU, Qty: l.Qty})
				return nil
			}
			s.Send(payment.Charge{OrderID: st.OrderID, Amount: st.Total, CardToken: st.CardToken})
			s.Schedule("payment", deadline)
			return nil
		})
	saga.On(d, "StockReservationRejected", func(e inventory.ReservationRejected) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], _ inventory.ReservationRejected) error {
			fail(s, ReasonOutOfStock)
			return nil
		})
	saga.On(d, "PaymentCharged", func(e payment.Charged) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e payment.Charged) error {
			st := s.State()
			s.Cancel("payment")
			s.StepDone("payment")
			s.Send(order.Confirm{OrderID: st.OrderID})
			items := 0
			for _, l := range st.Lines {
				items += l.Qty
			}
			// Logistics is another bounded context: the order records the
			// request, and a relay publishes it to logistics over the broker.
			s.Send(order.RequestShipment{OrderID: st.OrderID, Address: st.Address, Items: items})
			return nil
		})
	saga.On(d, "PaymentDeclined", func(e payment.Declined) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], _ payment.Declined) error {
			s.Cancel("payment")
			fail(s, ReasonPaymentDeclined)
			return nil
		})
	d.OnDeadline("payment", func(_ context.Context, s *saga.Scope[State]) error {
		// Void first: only a charge still pending is voided, and only its
		// PaymentVoided fails the saga.
		s.Send(payment.Void{OrderID: s.State().OrderID})
		return nil
	})
	saga.On(d, "PaymentVoided", func(e payment.Voided) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], _ payment.Voided) error {
			fail(s, ReasonDeadlineExpired)
			return nil
		})

	track := func(s *saga.Scope[State], p logistics.Progress, status logistics.Status) {
		st := s.State()
		st.Shipment, st.Carrier = p.ShipmentID, p.Carrier
		s.Send(order.RecordShipment{OrderID: st.OrderID, ShipmentID: p.ShipmentID, Carrier: p.Carrier, Status: string(status)})
	}
	saga.On(d, "ShipmentCreated", func(e logistics.Created) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.Created) error {
			track(s, logistics.Progress{ShipmentID: e.ShipmentID, OrderID: e.OrderID, Carrier: e.Carrier}, logistics.StatusCreated)
			return nil
		})
	saga.On(d, "ShipmentPicked", func(e logistics.Picked) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.Picked) error {
			track(s, e.Progress, logistics.StatusPicked)
			return nil
		})
	saga.On(d, "ShipmentDispatched", func(e logistics.Dispatched) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.Dispatched) error {
			track(s, e.Progress, logistics.StatusDispatched)
			return nil
		})
	saga.On(d, "ShipmentInTransit", func(e logistics.InTransit) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.InTransit) error {
			track(s, e.Progress, logistics.StatusInTransit)
			return nil
		})
	saga.On(d, "ShipmentDelivered", func(e logistics.Delivered) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.Delivered) error {
			s.Send(order.Complete{OrderID: s.State().OrderID})
			s.Complete()
			return nil
		})
	saga.On(d, "ShipmentFailed", func(e logistics.Failed) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[State], e logistics.Failed) error {
			track(s, e.Progress, logistics.StatusFailed)
			fail(s, ReasonShipmentFailed)
			return nil
		})
	return d
}

func stockStep(i int) string { return fmt.Sprintf("stock-%d", i) }
