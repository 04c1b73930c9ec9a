package order

import "github.com/chronicle-go/chronicle/eventstore"

// Line is one product line of an order; prices are in cents.
type Line struct {
	SKU       string `json:"sku"`
	Qty       int    `json:"qty"`
	UnitPrice int64  `json:"unit_price"`
}

// Address is where an order is delivered.
type Address struct {
	Name    string `json:"name"`
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

// Placed: a customer placed an order. Day is the business day (YYYY-MM-DD)
// revenue is booked on.
type Placed struct {
	OrderID   string  `json:"order_id"`
	Customer  string  `json:"customer"`
	Lines     []Line  `json:"lines"`
	Total     int64   `json:"total"`
	Day       string  `json:"day"`
	CardToken string  `json:"card_token"`
	Address   Address `json:"address"`
}

// Confirmed: the order is paid and will be shipped.
type Confirmed struct {
	OrderID string `json:"order_id"`
}

// Cancelled: the order will not be fulfilled; Reason says why.
type Cancelled struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// ShipmentUpdated: the order's shipment changed status.
type ShipmentUpdated struct {
	OrderID    string `json:"order_id"`
	ShipmentID string `json:"shipment_id"`
	Carrier    string `json:"carrier"`
	Status     string `json:"status"`
}

// ShipmentRequested: the order is to be shipped to Address. It is the
// order context's integration event for logistics: a relay publishes it
// to the broker, and the logistics context reads it with its own type.
type ShipmentRequested struct {
	OrderID string  `json:"order_id"`
	Address Address `json:"address"`
	Items   int     `json:"items"`
}

// Completed: the order was delivered.
type Completed struct {
	OrderID string `json:"order_id"`
	Total   int64  `json:"total"`
	Day     string `json:"day"`
}

// RegisterEvents registers the service's events under stable names.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.MustRegister[Placed](r, "OrderPlaced")
	eventstore.MustRegister[Confirmed](r, "OrderConfirmed")
	eventstore.MustRegister[Cancelled](r, "OrderCancelled")
	eventstore.MustRegister[ShipmentUpdated](r, "OrderShipmentUpdated")
	eventstore.MustRegister[ShipmentRequested](r, "OrderShipmentRequested")
	eventstore.MustRegister[Completed](r, "OrderCompleted")
}

// Commands.
type (
	// Place places a new order.
	Place struct {
		OrderID   string
		Customer  string
		Lines     []Line
		Day       string
		CardToken string
		Address   Address
	}
	// Confirm confirms a paid order.
	Confirm struct{ OrderID string }
	// Cancel cancels an order that is not completed.
	Cancel struct {
		OrderID string
		Reason  string
	}
	// RecordShipment records the shipment's latest status.
	RecordShipment struct {
		OrderID    string
		ShipmentID string
		Carrier    string
		Status     string
	}
	// Complete completes a confirmed, delivered order.
	Complete struct{ OrderID string }
	// RequestShipment asks logistics to ship a paid order.
	RequestShipment struct {
		OrderID string
		Address Address
		Items   int
	}
)

// RegisterCommands registers the service's commands, which the saga (and
// the client placing orders) send, possibly from another process.
func RegisterCommands(r *eventstore.Registry) {
	eventstore.MustRegister[Place](r, "PlaceOrder")
	eventstore.MustRegister[Confirm](r, "ConfirmOrder")
	eventstore.MustRegister[Cancel](r, "CancelOrder")
	eventstore.MustRegister[RecordShipment](r, "RecordOrderShipment")
	eventstore.MustRegister[Complete](r, "CompleteOrder")
	eventstore.MustRegister[RequestShipment](r, "RequestOrderShipment")
}
