package order

import (
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Status is an order's life-cycle state.
type Status string

// The statuses of an order.
const (
	StatusPlaced    Status = "placed"
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
	StatusCompleted Status = "completed"
)

// Errors of the order's invariants.
var (
	ErrAlreadyPlaced = errors.New("order: already placed")
	ErrInvalidOrder  = errors.New("order: invalid order")
	ErrNotConfirmed  = errors.New("order: not confirmed")
	ErrCompleted     = errors.New("order: already completed")
	ErrCancelled     = errors.New("order: cancelled")
)

// Order is the order aggregate.
type Order struct {
	aggregate.Root
	Status   Status
	Total    int64
	Day      string
	Tracking string
	// ShipmentRequested is set once logistics was asked to ship.
	ShipmentRequested bool
}

// Place records a new order after checking its lines.
func (o *Order) Place(c Place) error {
	if o.Status != "" {
		return ErrAlreadyPlaced
	}
	if c.OrderID == "" || len(c.Lines) == 0 {
		return fmt.Errorf("%w: an order needs an ID and at least one line", ErrInvalidOrder)
	}
	var total int64
	for _, l := range c.Lines {
		if l.SKU == "" || l.Qty <= 0 || l.UnitPrice < 0 {
			return fmt.Errorf("%w: line %+v", ErrInvalidOrder, l)
		}
		total += int64(l.Qty) * l.UnitPrice
	}
	aggregate.Record(o, Placed{OrderID: c.OrderID, Customer: c.Customer, Lines: c.Lines, Total: total,
		Day: c.Day, CardToken: c.CardToken, Address: c.Address})
	return nil
}

// Confirm confirms a placed order; confirming again records nothing.
func (o *Order) Confirm() error {
	switch o.Status {
	case StatusPlaced:
		aggregate.Record(o, Confirmed{OrderID: o.AggregateID()})
		return nil
	case StatusConfirmed, StatusCompleted:
		return nil
	case StatusCancelled:
		return ErrCancelled
	}
	return ErrInvalidOrder
}

// Cancel cancels an order that is not completed; cancelling again records
// nothing.
func (o *Order) Cancel(reason string) error {
	switch o.Status {
	case StatusCancelled:
		return nil
	case StatusCompleted:
		return ErrCompleted
	case "":
		return ErrInvalidOrder
	}
	aggregate.Record(o, Cancelled{OrderID: o.AggregateID(), Reason: reason})
	return nil
}

// RecordShipment records a shipment status change; the same status again
// records nothing, and a finished order ignores late news.
func (o *Order) RecordShipment(c RecordShipment) error {
	if o.Status == "" {
		return ErrInvalidOrder
	}
	if o.Tracking == c.Status || o.Status == StatusCompleted || o.Status == StatusCancelled {
		return nil
	}
	aggregate.Record(o, ShipmentUpdated{OrderID: o.AggregateID(), ShipmentID: c.ShipmentID, Carrier: c.Carrier, Status: c.Status})
	return nil
}

// RequestShipment asks for the order to be shipped, once; a cancelled or
// completed order, or one already requested, records nothing.
func (o *Order) RequestShipment(c RequestShipment) error {
	switch {
	case o.Status == "":
		return ErrInvalidOrder
	case o.ShipmentRequested || o.Status == StatusCancelled || o.Status == StatusCompleted:
		return nil
	}
	aggregate.Record(o, ShipmentRequested{OrderID: o.AggregateID(), Address: c.Address, Items: c.Items})
	return nil
}

// Complete completes a confirmed order; completing again records nothing.
func (o *Order) Complete() error {
	switch o.Status {
	case StatusCompleted:
		return nil
	case StatusConfirmed:
		aggregate.Record(o, Completed{OrderID: o.AggregateID(), Total: o.Total, Day: o.Day})
		return nil
	case StatusCancelled:
		return ErrCancelled
	}
	return ErrNotConfirmed
}

// Apply evolves the order by one event.
func (o *Order) Apply(e any) {
	switch e := e.(type) {
	case Placed:
		o.Status, o.Total, o.Day = StatusPlaced, e.Total, e.Day
	case Confirmed:
		o.Status = StatusConfirmed
	case Cancelled:
		o.Status = StatusCancelled
	case ShipmentUpdated:
		o.Tracking = e.Status
	case ShipmentRequested:
		o.ShipmentRequested = true
	case Completed:
		o.Status, o.Tracking = StatusCompleted, "delivered"
	}
}
