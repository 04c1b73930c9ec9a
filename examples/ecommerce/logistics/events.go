package logistics

import (
	"github.com/chronicle-go/chronicle/eventstore"

	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
)

// Progress is what every status event after [Created] carries.
type Progress struct {
	ShipmentID string `json:"shipment_id"`
	OrderID    string `json:"order_id"`
	Carrier    string `json:"carrier"`
}

// Events.
type (
	// Created: a shipment was booked with a carrier.
	Created struct {
		ShipmentID string        `json:"shipment_id"`
		OrderID    string        `json:"order_id"`
		Carrier    string        `json:"carrier"`
		Address    order.Address `json:"address"`
		Items      int           `json:"items"`
	}
	// Picked: the warehouse picked and packed the items.
	Picked struct{ Progress }
	// Dispatched: the carrier collected the parcel.
	Dispatched struct{ Progress }
	// InTransit: the parcel is on its way.
	InTransit struct{ Progress }
	// Delivered: the recipient has the parcel.
	Delivered struct{ Progress }
	// Failed: the parcel could not be delivered and goes back.
	Failed struct {
		Progress
		Reason string `json:"reason"`
	}
)

// RegisterEvents registers the service's events under stable names.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.MustRegister[Created](r, "ShipmentCreated")
	eventstore.MustRegister[Picked](r, "ShipmentPicked")
	eventstore.MustRegister[Dispatched](r, "ShipmentDispatched")
	eventstore.MustRegister[InTransit](r, "ShipmentInTransit")
	eventstore.MustRegister[Delivered](r, "ShipmentDelivered")
	eventstore.MustRegister[Failed](r, "ShipmentFailed")
}

// Commands.
type (
	// Create books a shipment for an order.
	Create struct {
		OrderID string
		Address order.Address
		Items   int
	}
	// Scan is a carrier's tracking scan: the shipment reached Status.
	Scan struct {
		OrderID string
		Status  Status
		Reason  string
	}
)

// RegisterCommands registers the commands other services send.
func RegisterCommands(r *eventstore.Registry) {
	eventstore.MustRegister[Create](r, "CreateShipment")
	eventstore.MustRegister[Scan](r, "ScanShipment")
}
