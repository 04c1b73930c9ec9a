package banking

import (
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
)

var ErrTransferExists = errors.New("transfer already requested")

// Transfer is the transfer aggregate: the request, and how it ended.
type Transfer struct {
	aggregate.Root
	Status string `json:"status"` // "", requested, completed, failed
}

func (t *Transfer) Apply(e any) {
	switch e.(type) {
	case TransferRequested:
		t.Status = "requested"
	case TransferCompleted:
		t.Status = "completed"
	case TransferFailed:
		t.Status = "failed"
	}
}

// Request asks to move amount from one account to another. The event
// carries the transfer's own ID: the saga finds its instance by it.
func (t *Transfer) Request(from, to string, amount int64) error {
	if t.Status != "" {
		return ErrTransferExists
	}
	aggregate.Record(t, TransferRequested{Transfer: t.AggregateID(), From: from, To: to, Amount: amount})
	return nil
}

// Complete and Fail end a requested transfer; ending it again changes
// nothing.
func (t *Transfer) Complete() {
	if t.Status == "requested" {
		aggregate.Record(t, TransferCompleted{})
	}
}

func (t *Transfer) Fail() {
	if t.Status == "requested" {
		aggregate.Record(t, TransferFailed{})
	}
}
