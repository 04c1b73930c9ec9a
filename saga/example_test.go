package saga_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
)

// Events and commands of a two-step checkout.
type (
	CheckoutStarted struct {
		Order string
		Card  string
	}
	SeatHeld      struct{ Order string }
	PaymentFailed struct{ Order string }
	PaymentTaken  struct{ Order string }
	HoldSeat      struct{ Order string }
	ReleaseSeat   struct{ Order string }
	TakePayment   struct {
		Order string
		Card  string
	}
)

type checkout struct{ Order, Card string }

// A checkout saga: hold a seat, then take the payment; if the payment
// fails, the held seat is released. The example runs one checkout whose
// card is declined and prints the instance's history.
func Example() {
	ctx := context.Background()
	events := eventstore.NewRegistry(nil)
	eventstore.MustRegister[CheckoutStarted](events, "CheckoutStarted")
	eventstore.MustRegister[SeatHeld](events, "SeatHeld")
	eventstore.MustRegister[PaymentFailed](events, "PaymentFailed")
	eventstore.MustRegister[PaymentTaken](events, "PaymentTaken")
	commands := eventstore.NewRegistry(nil)
	eventstore.MustRegister[HoldSeat](commands, "HoldSeat")
	eventstore.MustRegister[ReleaseSeat](commands, "ReleaseSeat")
	eventstore.MustRegister[TakePayment](commands, "TakePayment")

	d := saga.New[checkout]("checkout", saga.Options{Events: events, Commands: commands})
	d.Step("seat", func(s checkout) any { return ReleaseSeat{s.Order} })
	saga.Start(d, "CheckoutStarted", func(e CheckoutStarted) string { return e.Order },
		func(_ context.Context, s *saga.Scope[checkout], e CheckoutStarted) error {
			*s.State() = checkout{e.Order, e.Card}
			s.Send(HoldSeat{e.Order})
			return nil
		})
	saga.On(d, "SeatHeld", func(e SeatHeld) string { return e.Order },
		func(_ context.Context, s *saga.Scope[checkout], e SeatHeld) error {
			s.StepDone("seat")
			s.Send(TakePayment{e.Order, s.State().Card})
			s.Schedule("payment", 10*time.Minute)
			return nil
		})
	saga.On(d, "PaymentTaken", func(e PaymentTaken) string { return e.Order },
		func(_ context.Context, s *saga.Scope[checkout], e PaymentTaken) error {
			s.Cancel("payment")
			s.Complete()
			return nil
		})
	saga.On(d, "PaymentFailed", func(e PaymentFailed) string { return e.Order },
		func(_ context.Context, s *saga.Scope[checkout], e PaymentFailed) error {
			s.Fail("card declined")
			return nil
		})

	// The services: command handlers that record events.
	store := esmemory.New(esmemory.Config{})
	defer store.Close()
	record := func(ctx context.Context, stream string, v any) error {
		e, err := events.Encode(v, eventstore.Metadata{})
		if err == nil {
			_, err = store.Append(ctx, stream, eventstore.Any, e)
		}
		return err
	}
	bus, _ := command.NewBus(command.Config{}) // the zero Config is valid
	command.MustHandleFunc(bus, func(ctx context.Context, c HoldSeat) error { return record(ctx, "seat-"+c.Order, SeatHeld{c.Order}) })
	command.MustHandleFunc(bus, func(ctx context.Context, c ReleaseSeat) error { return nil })
	command.MustHandleFunc(bus, func(ctx context.Context, c TakePayment) error {
		if c.Card == "declined" {
			return record(ctx, "payment-"+c.Order, PaymentFailed{c.Order})
		}
		return record(ctx, "payment-"+c.Order, PaymentTaken{c.Order})
	})

	engine, err := saga.NewEngine(d, memory.New(), store, saga.BusSender(bus), saga.Config{
		PollInterval: 5 * time.Millisecond,
		Clock:        saga.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go engine.Run(runCtx)

	if err := record(ctx, "checkout-42", CheckoutStarted{"42", "declined"}); err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if h, err := engine.History(ctx, "42"); err == nil && h.Instance.Status == saga.Compensated {
			break
		}
		if time.Now().After(deadline) {
			panic("the checkout did not compensate within 30s")
		}
	}
	h, _ := engine.History(ctx, "42")
	fmt.Println(h.Instance.Status, "-", h.Instance.Reason)
	for _, e := range h.Entries {
		fmt.Println(e.Kind, e.EventType, e.Detail)
	}
	for _, c := range h.Commands {
		fmt.Println("sent", c.Seq, c.Type, c.Compensation)
	}
	// Output:
	// compensated - card declined
	// event CheckoutStarted send HoldSeat
	// event SeatHeld step seat done; send TakePayment; schedule deadline payment at 2026-01-01T00:10:00Z
	// event PaymentFailed compensate seat with ReleaseSeat
	// status  compensating: card declined
	// status  compensated
	// sent 1 HoldSeat false
	// sent 2 TakePayment false
	// sent 3 ReleaseSeat true
}
