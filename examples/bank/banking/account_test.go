package banking_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/aggregate/aggregatetest"
	"github.com/chronicle-go/chronicle/examples/bank/banking"
)

func account() *banking.Account { return &banking.Account{} }

func TestOpenAndDeposit(t *testing.T) {
	aggregatetest.For(t, banking.Events(), account).
		When(func(a *banking.Account) error { return a.Open("Ann") }).
		Then(banking.AccountOpened{Owner: "Ann"})

	a := aggregatetest.For(t, banking.Events(), account).
		Given(banking.AccountOpened{Owner: "Ann"}).
		When(func(a *banking.Account) error { return a.Deposit(100_00) }).
		Then(banking.Deposited{Amount: 100_00})
	if a.Balance != 100_00 {
		t.Errorf("balance %d after a deposit of 100.00", a.Balance)
	}

	aggregatetest.For(t, banking.Events(), account).
		When(func(a *banking.Account) error { return a.Deposit(100) }).
		ThenError(banking.ErrNoAccount)
	aggregatetest.For(t, banking.Events(), account).
		Given(banking.AccountOpened{Owner: "Ann"}).
		When(func(a *banking.Account) error { return a.Deposit(-5) }).
		ThenError(banking.ErrAmount)
}

func TestDebit(t *testing.T) {
	funded := []any{banking.AccountOpened{Owner: "Ann"}, banking.Deposited{Amount: 50_00}}
	aggregatetest.For(t, banking.Events(), account).WithID("a").
		Given(funded...).
		When(func(a *banking.Account) error { return a.Debit("t1", 30_00) }).
		Then(banking.TransferDebited{Transfer: "t1", Amount: 30_00})

	// Too little money is a fact the account records, not an error.
	aggregatetest.For(t, banking.Events(), account).WithID("a").
		Given(funded...).
		When(func(a *banking.Account) error { return a.Debit("t2", 80_00) }).
		Then(banking.DebitDeclined{Transfer: "t2", Amount: 80_00, Balance: 50_00})
}

func TestFrozenAccount(t *testing.T) {
	frozen := []any{banking.AccountOpened{Owner: "Cy"}, banking.AccountFrozen{Reason: "court order"}}
	aggregatetest.For(t, banking.Events(), account).WithID("c").
		Given(frozen...).
		When(func(a *banking.Account) error { return a.Credit("t3", 20_00) }).
		ThenError(banking.ErrAccountFrozen)
	// A refund is a compensation: it must be accepted, frozen or not.
	aggregatetest.For(t, banking.Events(), account).WithID("c").
		Given(frozen...).
		When(func(a *banking.Account) error { return a.Refund("t3", 20_00) }).
		Then(banking.DebitRefunded{Transfer: "t3", Amount: 20_00})
}

func TestTransferRequest(t *testing.T) {
	aggregatetest.For(t, banking.Events(), func() *banking.Transfer { return &banking.Transfer{} }).WithID("t1").
		When(func(tr *banking.Transfer) error { return tr.Request("a", "b", 30_00) }).
		Then(banking.TransferRequested{Transfer: "t1", From: "a", To: "b", Amount: 30_00})
	aggregatetest.For(t, banking.Events(), func() *banking.Transfer { return &banking.Transfer{} }).WithID("t1").
		Given(banking.TransferRequested{Transfer: "t1", From: "a", To: "b", Amount: 30_00}).
		When(func(tr *banking.Transfer) error { tr.Complete(); tr.Fail(); return nil }).
		Then(banking.TransferCompleted{})
}
