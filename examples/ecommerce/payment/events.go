package payment

import "github.com/chronicle-go/chronicle/eventstore"

// Events.
type (
	// Charged: the order's amount was taken from the card.
	Charged struct {
		OrderID string `json:"order_id"`
		Amount  int64  `json:"amount"`
	}
	// Declined: the charge was refused.
	Declined struct {
		OrderID string `json:"order_id"`
		Amount  int64  `json:"amount"`
		Reason  string `json:"reason"`
	}
	// Pending: the charge waits for the customer's 3-D Secure confirmation.
	Pending struct {
		OrderID string `json:"order_id"`
		Amount  int64  `json:"amount"`
	}
	// Voided: a pending charge was cancelled; no money moved.
	Voided struct {
		OrderID string `json:"order_id"`
	}
	// Refunded: a charged amount was paid back.
	Refunded struct {
		OrderID string `json:"order_id"`
		Amount  int64  `json:"amount"`
	}
)

// RegisterEvents registers the service's events under stable names.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.MustRegister[Charged](r, "PaymentCharged")
	eventstore.MustRegister[Declined](r, "PaymentDeclined")
	eventstore.MustRegister[Pending](r, "PaymentPending")
	eventstore.MustRegister[Voided](r, "PaymentVoided")
	eventstore.MustRegister[Refunded](r, "PaymentRefunded")
}

// Commands.
type (
	// Charge charges Amount to the card behind CardToken.
	Charge struct {
		OrderID   string
		Amount    int64
		CardToken string
	}
	// Void cancels a charge still pending; it does nothing to a charge that
	// went through or was declined.
	Void struct{ OrderID string }
	// Refund pays a charged amount back.
	Refund struct{ OrderID string }
)

// RegisterCommands registers the commands other services send.
func RegisterCommands(r *eventstore.Registry) {
	eventstore.MustRegister[Charge](r, "ChargePayment")
	eventstore.MustRegister[Void](r, "VoidPayment")
	eventstore.MustRegister[Refund](r, "RefundPayment")
}
