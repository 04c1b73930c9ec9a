// Package sagatest tests saga definitions and the stores sagas run on.
//
// # Testing a saga: given events, then commands
//
// [For] starts a specification of a saga definition: given these events,
// the saga sends these commands, schedules these deadlines, compensates in
// this order. It runs the definition in a real [saga.Engine] on the
// in-memory stores, step by step, with a [saga.ManualClock]:
//
//	func TestTransferToAFrozenAccount(t *testing.T) {
//		sagatest.For(t, bank.TransferSaga(events, commands)).
//			Refuse(bank.CreditAccount{ID: "b", Transfer: "t1", Amount: 30}, bank.ErrAccountFrozen).
//			Given("transfer-t1", bank.TransferRequested{ID: "t1", From: "a", To: "b", Amount: 30}).
//			ThenSent(bank.DebitAccount{ID: "a", Transfer: "t1", Amount: 30}).
//			Given("account-a", bank.TransferDebited{Transfer: "t1", Amount: 30}).
//			ThenSent(bank.CreditAccount{ID: "b", Transfer: "t1", Amount: 30}, // refused
//				bank.RefundDebit{ID: "a", Transfer: "t1", Amount: 30},
//				bank.FailTransfer{ID: "t1"}).
//			ThenCompensated("CreditAccount refused: account is frozen",
//				bank.RefundDebit{ID: "a", Transfer: "t1", Amount: 30}, bank.FailTransfer{ID: "t1"})
//	}
//
// [Spec.Given] hands events to the engine and sends what it decided;
// [Spec.After] moves the clock and fires the deadlines due. Commands are
// accepted unless [Spec.Refuse] or [Spec.Answer] says otherwise.
// [Spec.ThenSent] checks the commands delivered since the last check;
// [Spec.ThenDeadlines], [Spec.ThenStatus], [Spec.ThenState],
// [Spec.ThenCompensated] and [Spec.ThenParked] check the instance.
//
// # Store conformance
//
// [Run] is the suite every [saga.Store] runs: it checks versioned instance
// writes, atomic commits, fenced checkpoints, outbox and deadline claims
// (order, leases, concurrency, including two handles on one storage
// claiming deadlines at once, as two processes would), refused commands
// and the inspection API, each case on a fresh store.
//
//	func TestStore(t *testing.T) {
//		sagatest.Run(t, func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
//			s := newStore(t)
//			return s, func(t *testing.T) saga.Store { return openAnotherHandle(t, s) }
//		})
//	}
package sagatest
