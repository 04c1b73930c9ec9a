package banking

import (
	"errors"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Commands. Those with a Validate method are checked by the bus's
// Validate middleware before their handler runs.
type (
	OpenAccount struct {
		Account string
		Owner   string
	}
	Deposit struct {
		Account string
		Amount  int64
	}
	FreezeAccount struct {
		Account string
		Reason  string
	}
	RequestTransfer struct {
		Transfer string
		From, To string
		Amount   int64
	}
	// The transfer saga's commands.
	DebitAccount struct {
		Account  string
		Transfer string
		Amount   int64
	}
	CreditAccount struct {
		Account  string
		Transfer string
		Amount   int64
	}
	RefundDebit struct {
		Account  string
		Transfer string
		Amount   int64
	}
	CompleteTransfer struct{ Transfer string }
	FailTransfer     struct{ Transfer string }
)

func (c RequestTransfer) Validate() error {
	switch {
	case c.Transfer == "" || c.From == "" || c.To == "":
		return errors.New("transfer, from and to are required")
	case c.From == c.To:
		return errors.New("from and to are the same account")
	case c.Amount <= 0:
		return ErrAmount
	}
	return nil
}

// Commands returns the registry of the commands the transfer saga sends:
// its outbox stores them under these names.
func Commands() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[DebitAccount](r, "DebitAccount")
	eventstore.MustRegister[CreditAccount](r, "CreditAccount")
	eventstore.MustRegister[RefundDebit](r, "RefundDebit")
	eventstore.MustRegister[CompleteTransfer](r, "CompleteTransfer")
	eventstore.MustRegister[FailTransfer](r, "FailTransfer")
	return r
}
