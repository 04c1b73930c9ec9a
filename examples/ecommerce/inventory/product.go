package inventory

import (
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Errors of the product's invariants.
var (
	ErrExists          = errors.New("inventory: product already exists")
	ErrUnknownProduct  = errors.New("inventory: unknown product")
	ErrInvalidQuantity = errors.New("inventory: invalid quantity")
)

// Product is the product aggregate.
type Product struct {
	aggregate.Root
	Added     bool
	Available int
	// Reservations holds the units reserved per order, until released.
	Reservations map[string]int
	// Released marks orders whose reservation went back to stock.
	Released map[string]bool
}

// Add records a new product.
func (p *Product) Add(c AddProduct) error {
	switch {
	case p.Added:
		return ErrExists
	case c.SKU == "" || c.Stock < 0 || c.Price < 0:
		return fmt.Errorf("%w: %+v", ErrInvalidQuantity, c)
	}
	aggregate.Record(p, ProductAdded{SKU: c.SKU, Name: c.Name, Price: c.Price, Stock: c.Stock})
	return nil
}

// Reserve holds qty units for an order, or records a rejection when fewer
// are available: stock never goes negative.
func (p *Product) Reserve(orderID string, qty int) error {
	switch {
	case !p.Added:
		return ErrUnknownProduct
	case qty <= 0:
		return fmt.Errorf("%w: %d", ErrInvalidQuantity, qty)
	case p.Reservations[orderID] > 0 || p.Released[orderID]:
		return nil // this order's reservation was decided already
	case qty > p.Available:
		aggregate.Record(p, ReservationRejected{SKU: p.AggregateID(), OrderID: orderID, Qty: qty, Available: p.Available})
		return nil
	}
	aggregate.Record(p, Reserved{SKU: p.AggregateID(), OrderID: orderID, Qty: qty})
	return nil
}

// Release returns an order's reservation to stock; without one it records
// nothing.
func (p *Product) Release(orderID string) error {
	if !p.Added {
		return ErrUnknownProduct
	}
	if qty := p.Reservations[orderID]; qty > 0 {
		aggregate.Record(p, Released{SKU: p.AggregateID(), OrderID: orderID, Qty: qty})
	}
	return nil
}

// Apply evolves the product by one event.
func (p *Product) Apply(e any) {
	if p.Reservations == nil {
		p.Reservations, p.Released = map[string]int{}, map[string]bool{}
	}
	switch e := e.(type) {
	case ProductAdded:
		p.Added, p.Available = true, e.Stock
	case Reserved:
		p.Available -= e.Qty
		p.Reservations[e.OrderID] = e.Qty
	case Released:
		p.Available += e.Qty
		delete(p.Reservations, e.OrderID)
		p.Released[e.OrderID] = true
	}
}
