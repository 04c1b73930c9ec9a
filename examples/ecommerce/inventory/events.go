package inventory

import "github.com/chronicle-go/chronicle/eventstore"

// Events.
type (
	// ProductAdded: a product entered the catalogue with its initial stock.
	ProductAdded struct {
		SKU   string `json:"sku"`
		Name  string `json:"name"`
		Price int64  `json:"price"`
		Stock int    `json:"stock"`
	}
	// Reserved: Qty units are held for an order.
	Reserved struct {
		SKU     string `json:"sku"`
		OrderID string `json:"order_id"`
		Qty     int    `json:"qty"`
	}
	// ReservationRejected: not enough stock for the order.
	ReservationRejected struct {
		SKU       string `json:"sku"`
		OrderID   string `json:"order_id"`
		Qty       int    `json:"qty"`
		Available int    `json:"available"`
	}
	// Released: an order's reservation went back to stock.
	Released struct {
		SKU     string `json:"sku"`
		OrderID string `json:"order_id"`
		Qty     int    `json:"qty"`
	}
)

// RegisterEvents registers the service's events under stable names.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.MustRegister[ProductAdded](r, "ProductAdded")
	eventstore.MustRegister[Reserved](r, "StockReserved")
	eventstore.MustRegister[ReservationRejected](r, "StockReservationRejected")
	eventstore.MustRegister[Released](r, "StockReleased")
}

// Commands.
type (
	// AddProduct adds a product with its initial stock.
	AddProduct struct {
		SKU   string
		Name  string
		Price int64
		Stock int
	}
	// Reserve reserves Qty units of SKU for an order.
	Reserve struct {
		OrderID string
		SKU     string
		Qty     int
	}
	// Release returns an order's reservation of SKU to stock.
	Release struct {
		OrderID string
		SKU     string
	}
)

// RegisterCommands registers the commands other services send.
func RegisterCommands(r *eventstore.Registry) {
	eventstore.MustRegister[AddProduct](r, "AddProduct")
	eventstore.MustRegister[Reserve](r, "ReserveStock")
	eventstore.MustRegister[Release](r, "ReleaseStock")
}
