package command_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// Account is the aggregate of the example.
type Account struct {
	aggregate.Root
	Balance int `json:"balance"`
}

type Deposited struct {
	Amount int `json:"amount"`
}

func (a *Account) Apply(e any) {
	if d, ok := e.(Deposited); ok {
		a.Balance += d.Amount
	}
}

// Deposit is a command.
type Deposit struct {
	Account string
	Amount  int
}

func (d Deposit) Validate() error {
	if d.Amount <= 0 {
		return errors.New("amount must be positive")
	}
	return nil
}

func Example() {
	ctx := context.Background()
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Deposited](registry, "Deposited")
	store := memory.New(memory.Config{})
	accounts, err := aggregate.NewRepository(store, registry, aggregate.Config[*Account]{Type: "account"})
	if err != nil {
		panic(err)
	}

	bus, err := command.NewBus(command.Config{Middleware: command.DefaultMiddleware(nil)})
	if err != nil {
		panic(err)
	}
	command.MustHandleFunc(bus, func(ctx context.Context, c Deposit) error {
		a, err := accounts.LoadOrNew(ctx, c.Account)
		if err != nil {
			return err
		}
		aggregate.Record(a, Deposited{Amount: c.Amount})
		_, err = accounts.Save(ctx, a)
		return err
	})

	// A saga would derive the ID from (instance, step); the client here
	// sends the same command twice.
	cmd := command.Command{
		ID:            command.DeriveID("transfer-9", "credit"),
		CorrelationID: "transfer-9",
		Payload:       Deposit{Account: "a1", Amount: 100},
	}
	first, _ := bus.Send(ctx, cmd)
	fmt.Println("first:  version", first.Appended[0].To, "replayed", first.Replayed)
	_, _ = bus.Send(ctx, command.New(Deposit{Account: "a1", Amount: 5}))
	again, _ := bus.Send(ctx, cmd)
	fmt.Println("again:  version", again.Appended[0].To, "replayed", again.Replayed)

	_, err = bus.Send(ctx, command.New(Deposit{Account: "a1", Amount: -1}))
	fmt.Println("invalid:", errors.Is(err, command.ErrInvalidCommand))

	a, _ := accounts.Load(ctx, "a1")
	fmt.Println("balance:", a.Balance, "after", a.Version(), "events")
	for e, _ := range store.ReadStream(ctx, "account-a1", eventstore.ReadStreamOptions{Limit: 1}) {
		fmt.Println("caused by the command:", e.Metadata.CausationID == cmd.ID.String(), "correlation:", e.Metadata.CorrelationID)
	}
	// Output:
	// first:  version 1 replayed false
	// again:  version 1 replayed true
	// invalid: true
	// balance: 105 after 2 events
	// caused by the command: true correlation: transfer-9
}
