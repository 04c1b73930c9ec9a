package banking

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
)

// Handle registers the bank's command handlers on bus. Each loads one
// aggregate with the context it is given (it carries the bus's
// idempotency and metadata), runs the command and saves.
//
// A business rule that forbids a command is returned as a refusal
// (command.Refuse): a saga that sent the command then fails and
// compensates instead of retrying. Anything else is an error.
func Handle(bus *command.Bus, accounts *aggregate.Repository[*Account], transfers *aggregate.Repository[*Transfer]) error {
	onAccount := func(ctx context.Context, id string, mustExist bool, do func(*Account) error) error {
		load := accounts.LoadOrNew
		if mustExist {
			load = accounts.Load
		}
		a, err := load(ctx, id)
		if errors.Is(err, aggregate.ErrNotFound) {
			return command.Refuse(err) // no such account: sending it again will not help
		}
		if err != nil {
			return err
		}
		if err := do(a); err != nil {
			return command.Refuse(err)
		}
		_, err = accounts.Save(ctx, a)
		return err
	}
	onTransfer := func(ctx context.Context, id string, do func(*Transfer) error) error {
		t, err := transfers.LoadOrNew(ctx, id)
		if err != nil {
			return err
		}
		if err := do(t); err != nil {
			return command.Refuse(err)
		}
		_, err = transfers.Save(ctx, t)
		return err
	}
	return errors.Join(
		command.HandleFunc(bus, func(ctx context.Context, c OpenAccount) error {
			return onAccount(ctx, c.Account, false, func(a *Account) error { return a.Open(c.Owner) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c Deposit) error {
			return onAccount(ctx, c.Account, true, func(a *Account) error { return a.Deposit(c.Amount) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c FreezeAccount) error {
			return onAccount(ctx, c.Account, true, func(a *Account) error { return a.Freeze(c.Reason) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c DebitAccount) error {
			return onAccount(ctx, c.Account, true, func(a *Account) error { return a.Debit(c.Transfer, c.Amount) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c CreditAccount) error {
			return onAccount(ctx, c.Account, true, func(a *Account) error { return a.Credit(c.Transfer, c.Amount) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c RefundDebit) error {
			return onAccount(ctx, c.Account, true, func(a *Account) error { return a.Refund(c.Transfer, c.Amount) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c RequestTransfer) error {
			return onTransfer(ctx, c.Transfer, func(t *Transfer) error { return t.Request(c.From, c.To, c.Amount) })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c CompleteTransfer) error {
			return onTransfer(ctx, c.Transfer, func(t *Transfer) error { t.Complete(); return nil })
		}),
		command.HandleFunc(bus, func(ctx context.Context, c FailTransfer) error {
			return onTransfer(ctx, c.Transfer, func(t *Transfer) error { t.Fail(); return nil })
		}),
	)
}
