package banking

import (
	"context"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// TransferState is the transfer saga's state, stored as JSON with each
// instance.
type TransferState struct {
	Transfer string `json:"transfer"`
	From     string `json:"from"`
	To       string `json:"to"`
	Amount   int64  `json:"amount"`
}

// TransferSaga moves money between two accounts: debit one, then credit
// the other. Each step that succeeded declares how it is undone; when a
// later step fails, the engine sends those compensations, newest first.
//
//   - A debit that finds too little money is a fact the account records
//     (DebitDeclined): the saga fails, and only the request is undone.
//   - A credit to a frozen account is refused (command.Refuse): the saga
//     fails, refunds the debit, then fails the request.
func TransferSaga(events, commands *eventstore.Registry) *saga.Definition[TransferState] {
	d := saga.New[TransferState]("transfer", saga.Options{Events: events, Commands: commands})
	d.Step("request", func(s TransferState) any { return FailTransfer{Transfer: s.Transfer} })
	d.Step("debit", func(s TransferState) any {
		return RefundDebit{Account: s.From, Transfer: s.Transfer, Amount: s.Amount}
	})

	saga.Start(d, "TransferRequested", func(e TransferRequested) string { return e.Transfer },
		func(ctx context.Context, s *saga.Scope[TransferState], e TransferRequested) error {
			*s.State() = TransferState{Transfer: e.Transfer, From: e.From, To: e.To, Amount: e.Amount}
			s.StepDone("request")
			s.Send(DebitAccount{Account: e.From, Transfer: e.Transfer, Amount: e.Amount})
			return nil
		})
	saga.On(d, "TransferDebited", func(e TransferDebited) string { return e.Transfer },
		func(ctx context.Context, s *saga.Scope[TransferState], e TransferDebited) error {
			s.StepDone("debit")
			s.Send(CreditAccount{Account: s.State().To, Transfer: e.Transfer, Amount: e.Amount})
			return nil
		})
	saga.On(d, "DebitDeclined", func(e DebitDeclined) string { return e.Transfer },
		func(ctx context.Context, s *saga.Scope[TransferState], e DebitDeclined) error {
			s.Fail("insufficient funds")
			return nil
		})
	saga.On(d, "TransferCredited", func(e TransferCredited) string { return e.Transfer },
		func(ctx context.Context, s *saga.Scope[TransferState], e TransferCredited) error {
			s.Send(CompleteTransfer{Transfer: e.Transfer})
			s.Complete()
			return nil
		})
	return d
}
