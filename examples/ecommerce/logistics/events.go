package logistics

import "github.com/chronicle-go/chronicle/eventstore"

// Address is where a shipment goes. Logistics keeps its own type rather
// than importing the order service's: the services share commands and
// events, not packages. The JSON names match the order's address, and
// [Created] stores them under "address".
type Address struct {
	Name    string `json:"name"`
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

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
		ShipmentID string  `json:"shipment_id"`
		OrderID    string  `json:"order_id"`
		Carrier    string  `json:"carrier"`
		Address    Address `json:"address"`
		Items      int     `json:"items"`
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

// ShipmentRequested is the order context's integration event asking for a
// shipment ("OrderShipmentRequested"), read with logistics' own types: the
// contexts share the message's JSON, not a package.
type ShipmentRequested struct {
	OrderID string  `json:"order_id"`
	Address Address `json:"address"`
	Items   int     `json:"items"`
}

// ShipmentRequestedType is the integration event's type.
const ShipmentRequestedType = "OrderShipmentRequested"

// EventTypes are the types of the service's events: what its relay
// publishes.
var EventTypes = []string{"ShipmentCreated", "ShipmentPicked", "ShipmentDispatched", "ShipmentInTransit", "ShipmentDelivered", "ShipmentFailed"}

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
		Address Address
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
