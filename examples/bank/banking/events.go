package banking

import "github.com/chronicle-go/chronicle/eventstore"

// Events of an account, in stream "account-<id>". Amounts are in cents.
type (
	AccountOpened struct {
		Owner string `json:"owner"`
	}
	Deposited struct {
		Amount int64 `json:"amount"`
	}
	AccountFrozen struct {
		Reason string `json:"reason"`
	}
	// TransferDebited: money left the account for a transfer.
	TransferDebited struct {
		Transfer string `json:"transfer"`
		Amount   int64  `json:"amount"`
	}
	// DebitDeclined: a transfer asked for more than the balance. The
	// account keeps the fact; the transfer saga reacts to it.
	DebitDeclined struct {
		Transfer string `json:"transfer"`
		Amount   int64  `json:"amount"`
		Balance  int64  `json:"balance"`
	}
	// TransferCredited: money arrived for a transfer.
	TransferCredited struct {
		Transfer string `json:"transfer"`
		Amount   int64  `json:"amount"`
	}
	// DebitRefunded: a transfer that failed gave its debit back.
	DebitRefunded struct {
		Transfer string `json:"transfer"`
		Amount   int64  `json:"amount"`
	}
)

// Events of a transfer, in stream "transfer-<id>".
type (
	TransferRequested struct {
		Transfer string `json:"transfer"`
		From     string `json:"from"`
		To       string `json:"to"`
		Amount   int64  `json:"amount"`
	}
	TransferCompleted struct{}
	TransferFailed    struct{}
)

// Events returns the registry of the bank's events: the stable names they
// are stored under.
func Events() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[AccountOpened](r, "AccountOpened")
	eventstore.MustRegister[Deposited](r, "Deposited")
	eventstore.MustRegister[AccountFrozen](r, "AccountFrozen")
	eventstore.MustRegister[TransferDebited](r, "TransferDebited")
	eventstore.MustRegister[DebitDeclined](r, "DebitDeclined")
	eventstore.MustRegister[TransferCredited](r, "TransferCredited")
	eventstore.MustRegister[DebitRefunded](r, "DebitRefunded")
	eventstore.MustRegister[TransferRequested](r, "TransferRequested")
	eventstore.MustRegister[TransferCompleted](r, "TransferCompleted")
	eventstore.MustRegister[TransferFailed](r, "TransferFailed")
	return r
}
