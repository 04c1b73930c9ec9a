package payment

import (
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
)

// The simulated provider's rules.
const (
	// TokenDeclined is a test card that is always declined.
	TokenDeclined = "tok_declined"
	// TokenThreeDS is a test card whose 3-D Secure check is never completed.
	TokenThreeDS = "tok_3ds_abandoned"
	// MaxCharge is the largest amount charged, in cents.
	MaxCharge int64 = 2_000_00
)

// Status is a payment's state.
type Status string

// The statuses of a payment.
const (
	StatusCharged  Status = "charged"
	StatusDeclined Status = "declined"
	StatusPending  Status = "pending"
	StatusVoided   Status = "voided"
	StatusRefunded Status = "refunded"
)

// ErrInvalidAmount: a charge of zero or less.
var ErrInvalidAmount = errors.New("payment: invalid amount")

// Payment is the payment aggregate of one order.
type Payment struct {
	aggregate.Root
	Status Status
	Amount int64
}

// Charge applies the provider's rules; a payment already decided records
// nothing.
func (p *Payment) Charge(c Charge) error {
	if p.Status != "" {
		return nil
	}
	if c.Amount <= 0 {
		return fmt.Errorf("%w: %d", ErrInvalidAmount, c.Amount)
	}
	id := p.AggregateID()
	switch {
	case c.CardToken == TokenDeclined:
		aggregate.Record(p, Declined{OrderID: id, Amount: c.Amount, Reason: "card declined"})
	case c.Amount > MaxCharge:
		aggregate.Record(p, Declined{OrderID: id, Amount: c.Amount, Reason: "amount over limit"})
	case c.CardToken == TokenThreeDS:
		aggregate.Record(p, Pending{OrderID: id, Amount: c.Amount})
	default:
		aggregate.Record(p, Charged{OrderID: id, Amount: c.Amount})
	}
	return nil
}

// Void cancels a pending charge.
func (p *Payment) Void() error {
	if p.Status == StatusPending {
		aggregate.Record(p, Voided{OrderID: p.AggregateID()})
	}
	return nil
}

// Refund pays a charged amount back, once.
func (p *Payment) Refund() error {
	if p.Status == StatusCharged {
		aggregate.Record(p, Refunded{OrderID: p.AggregateID(), Amount: p.Amount})
	}
	return nil
}

// Apply evolves the payment by one event.
func (p *Payment) Apply(e any) {
	switch e := e.(type) {
	case Charged:
		p.Status, p.Amount = StatusCharged, e.Amount
	case Declined:
		p.Status, p.Amount = StatusDeclined, e.Amount
	case Pending:
		p.Status, p.Amount = StatusPending, e.Amount
	case Voided:
		p.Status = StatusVoided
	case Refunded:
		p.Status = StatusRefunded
	}
}
