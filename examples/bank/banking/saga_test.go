package banking_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/examples/bank/banking"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

func transferSaga() *saga.Definition[banking.TransferState] {
	return banking.TransferSaga(banking.Events(), banking.Commands())
}

var t1 = banking.TransferRequested{Transfer: "t1", From: "a", To: "b", Amount: 30_00}

func TestTransfer(t *testing.T) {
	sagatest.For(t, transferSaga()).
		Given("transfer-t1", t1).
		ThenSent(banking.DebitAccount{Account: "a", Transfer: "t1", Amount: 30_00}).
		Given("account-a", banking.TransferDebited{Transfer: "t1", Amount: 30_00}).
		ThenSent(banking.CreditAccount{Account: "b", Transfer: "t1", Amount: 30_00}).
		Given("account-b", banking.TransferCredited{Transfer: "t1", Amount: 30_00}).
		ThenSent(banking.CompleteTransfer{Transfer: "t1"}).
		ThenStatus(saga.Completed, "").
		ThenState(banking.TransferState{Transfer: "t1", From: "a", To: "b", Amount: 30_00})
}

// The debit finds too little money: the account records DebitDeclined and
// the saga undoes the request only (nothing was debited).
func TestTransferDeclined(t *testing.T) {
	sagatest.For(t, transferSaga()).
		Given("transfer-t1", t1).
		Given("account-a", banking.DebitDeclined{Transfer: "t1", Amount: 30_00, Balance: 10_00}).
		ThenSent(banking.DebitAccount{Account: "a", Transfer: "t1", Amount: 30_00}, banking.FailTransfer{Transfer: "t1"}).
		ThenCompensated("insufficient funds", banking.FailTransfer{Transfer: "t1"})
}

// The credit is refused (account b is frozen): the saga refunds the debit,
// then fails the request — newest step first.
func TestTransferToAFrozenAccount(t *testing.T) {
	sagatest.For(t, transferSaga()).
		Refuse(banking.CreditAccount{Account: "b", Transfer: "t1", Amount: 30_00}, banking.ErrAccountFrozen).
		Given("transfer-t1", t1).
		Given("account-a", banking.TransferDebited{Transfer: "t1", Amount: 30_00}).
		ThenSent(
			banking.DebitAccount{Account: "a", Transfer: "t1", Amount: 30_00},
			banking.CreditAccount{Account: "b", Transfer: "t1", Amount: 30_00}, // refused
			banking.RefundDebit{Account: "a", Transfer: "t1", Amount: 30_00},
			banking.FailTransfer{Transfer: "t1"}).
		ThenCompensated("CreditAccount refused: account is frozen",
			banking.RefundDebit{Account: "a", Transfer: "t1", Amount: 30_00},
			banking.FailTransfer{Transfer: "t1"})
}
