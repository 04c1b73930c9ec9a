package banking

import (
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
)

var (
	ErrAccountExists = errors.New("account already opened")
	ErrNoAccount     = errors.New("no such account")
	ErrAccountFrozen = errors.New("account is frozen")
	ErrAmount        = errors.New("amount must be positive")
)

// Account is the account aggregate. Its fields are exported so that a
// snapshot (JSON) can hold them.
type Account struct {
	aggregate.Root
	Opened  bool   `json:"opened"`
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
	Frozen  bool   `json:"frozen"`
}

// Apply evolves the state; events are facts, so it never fails.
func (a *Account) Apply(e any) {
	switch e := e.(type) {
	case AccountOpened:
		a.Opened, a.Owner = true, e.Owner
	case Deposited:
		a.Balance += e.Amount
	case AccountFrozen:
		a.Frozen = true
	case TransferDebited:
		a.Balance -= e.Amount
	case TransferCredited:
		a.Balance += e.Amount
	case DebitRefunded:
		a.Balance += e.Amount
	}
}

// Open opens the account for owner.
func (a *Account) Open(owner string) error {
	if a.Opened {
		return ErrAccountExists
	}
	aggregate.Record(a, AccountOpened{Owner: owner})
	return nil
}

// Deposit puts cash on the account.
func (a *Account) Deposit(amount int64) error {
	if err := a.usable(amount); err != nil {
		return err
	}
	aggregate.Record(a, Deposited{Amount: amount})
	return nil
}

// Freeze stops every movement but refunds.
func (a *Account) Freeze(reason string) error {
	if !a.Opened {
		return ErrNoAccount
	}
	if !a.Frozen {
		aggregate.Record(a, AccountFrozen{Reason: reason})
	}
	return nil
}

// Debit takes amount for a transfer. Too little money is not an error: the
// account records DebitDeclined, a fact the transfer saga reacts to.
func (a *Account) Debit(transfer string, amount int64) error {
	if err := a.usable(amount); err != nil {
		return err
	}
	if a.Balance < amount {
		aggregate.Record(a, DebitDeclined{Transfer: transfer, Amount: amount, Balance: a.Balance})
		return nil
	}
	aggregate.Record(a, TransferDebited{Transfer: transfer, Amount: amount})
	return nil
}

// Credit gives amount for a transfer. A frozen account refuses it.
func (a *Account) Credit(transfer string, amount int64) error {
	if err := a.usable(amount); err != nil {
		return err
	}
	aggregate.Record(a, TransferCredited{Transfer: transfer, Amount: amount})
	return nil
}

// Refund gives back a transfer's debit. It is a compensation: it must be
// accepted, so a frozen account takes it too.
func (a *Account) Refund(transfer string, amount int64) error {
	if !a.Opened {
		return ErrNoAccount
	}
	aggregate.Record(a, DebitRefunded{Transfer: transfer, Amount: amount})
	return nil
}

func (a *Account) usable(amount int64) error {
	switch {
	case !a.Opened:
		return ErrNoAccount
	case a.Frozen:
		return fmt.Errorf("account %s: %w", a.AggregateID(), ErrAccountFrozen)
	case amount <= 0:
		return ErrAmount
	}
	return nil
}
