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
//		credit := banking.CreditAccount{Account: "b", Transfer: "t1", Amount: 30_00}
//		refund := banking.RefundDebit{Account: "a", Transfer: "t1", Amount: 30_00}
//		sagatest.For(t, banking.TransferSaga(banking.Events(), banking.Commands())).
//			Refuse(credit, banking.ErrAccountFrozen).
//			Given("transfer-t1", banking.TransferRequested{Transfer: "t1", From: "a", To: "b", Amount: 30_00}).
//			ThenSent(banking.DebitAccount{Account: "a", Transfer: "t1", Amount: 30_00}).
//			Given("account-a", banking.TransferDebited{Transfer: "t1", Amount: 30_00}).
//			ThenSent(credit, refund, banking.FailTransfer{Transfer: "t1"}).
//			ThenCompensated("CreditAccount refused: account is frozen", refund, banking.FailTransfer{Transfer: "t1"})
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
// [Run] is the suite every [saga.Store] runs, each case on a fresh store:
// of the [saga.StateStore], versioned instance writes, atomic commits and
// fenced checkpoints; of the [saga.Outbox], command and deadline reservations
// (order, expiry, concurrency, including two handles on one storage
// reserving deadlines at once, as two processes would) and refused
// commands; of the [saga.Inspector], every query. The parts are checked
// together, as the engine uses them: a reservation hands out what a commit wrote.
//
//	func TestStore(t *testing.T) {
//		sagatest.Run(t, func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
//			s := newStore(t)
//			return s, func(t *testing.T) saga.Store { return openAnotherHandle(t, s) }
//		})
//	}
//
// # Engines on a store
//
// [RunWorkflow] runs a fulfilment saga end to end on real engines over the
// store: every failure point compensated in reverse order, deadlines,
// duplicate and late events, crashes between commit, send and mark,
// refusals, parked events, many concurrent instances on two engines, one
// engine killed mid-flight and another stopped and restarted under load.
// A store that passes [Run] but fails here has a gap the call-by-call
// suite does not see. Both stores run it:
//
//	func TestWorkflow(t *testing.T) {
//		sagatest.RunWorkflow(t, sagatest.WorkflowEnv{
//			Events: func(t *testing.T) eventstore.Store { return newEventStore(t) },
//			Store: func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
//				s := newStore(t)
//				return s, func(t *testing.T) saga.Store { return openAnotherHandle(t, s) }
//			},
//			Orders: 1000,
//			Kill:   killConnections, // nil for a store with no connections
//		})
//	}
package sagatest
