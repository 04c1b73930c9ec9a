package sagatest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

// A transfer: debit one account, credit the other; a refund undoes the
// debit, a failed transfer the request. The credit must come within a day.
type (
	TransferRequested struct {
		ID, From, To string
		Amount       int
	}
	Debited struct {
		Transfer string
		Amount   int
	}
	DebitDeclined struct{ Transfer string }
	Credited      struct{ Transfer string }
	Broken        struct{ Transfer string }

	Debit struct {
		Account, Transfer string
		Amount            int
	}
	Credit struct {
		Account, Transfer string
		Amount            int
	}
	Refund struct {
		Account, Transfer string
		Amount            int
	}
	Complete struct{ Transfer string }
	Fail     struct{ Transfer string }

	transfer struct {
		ID, From, To string
		Amount       int
	}
)

var errFrozen = errors.New("account is frozen")

func definition() *saga.Definition[transfer] {
	events := eventstore.NewRegistry(nil)
	eventstore.MustRegister[TransferRequested](events, "TransferRequested")
	eventstore.MustRegister[Debited](events, "Debited")
	eventstore.MustRegister[DebitDeclined](events, "DebitDeclined")
	eventstore.MustRegister[Credited](events, "Credited")
	eventstore.MustRegister[Broken](events, "Broken")
	commands := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Debit](commands, "Debit")
	eventstore.MustRegister[Credit](commands, "Credit")
	eventstore.MustRegister[Refund](commands, "Refund")
	eventstore.MustRegister[Complete](commands, "Complete")
	eventstore.MustRegister[Fail](commands, "Fail")

	d := saga.New[transfer]("transfer", saga.Options{Events: events, Commands: commands})
	d.Step("request", func(s transfer) any { return Fail{s.ID} })
	d.Step("debit", func(s transfer) any { return Refund{s.From, s.ID, s.Amount} })
	saga.Start(d, "TransferRequested", func(e TransferRequested) string { return e.ID },
		func(_ context.Context, s *saga.Scope[transfer], e TransferRequested) error {
			*s.State() = transfer{e.ID, e.From, e.To, e.Amount}
			s.StepDone("request")
			s.Send(Debit{e.From, e.ID, e.Amount})
			return nil
		})
	saga.On(d, "Debited", func(e Debited) string { return e.Transfer },
		func(_ context.Context, s *saga.Scope[transfer], e Debited) error {
			s.StepDone("debit")
			s.Send(Credit{s.State().To, e.Transfer, e.Amount})
			s.Schedule("credit", 24*time.Hour)
			return nil
		})
	saga.On(d, "DebitDeclined", func(e DebitDeclined) string { return e.Transfer },
		func(_ context.Context, s *saga.Scope[transfer], e DebitDeclined) error {
			s.Fail("insufficient funds")
			return nil
		})
	saga.On(d, "Credited", func(e Credited) string { return e.Transfer },
		func(_ context.Context, s *saga.Scope[transfer], e Credited) error {
			s.Cancel("credit")
			s.Send(Complete{e.Transfer})
			s.Complete()
			return nil
		})
	saga.On(d, "Broken", func(e Broken) string { return e.Transfer },
		func(context.Context, *saga.Scope[transfer], Broken) error {
			return errors.New("cannot handle a broken transfer")
		})
	return d
}

var t1 = TransferRequested{ID: "t1", From: "a", To: "b", Amount: 30}

func TestHappyPath(t *testing.T) {
	sagatest.For(t, definition()).
		Given("transfer-t1", t1).
		ThenSent(Debit{"a", "t1", 30}).
		ThenDeadlines(nil).
		Given("account-a", Debited{"t1", 30}).
		ThenSent(Credit{"b", "t1", 30}).
		ThenDeadlines(map[string]time.Duration{"credit": 24 * time.Hour}).
		After(time.Hour).
		ThenDeadlines(map[string]time.Duration{"credit": 23 * time.Hour}).
		Given("account-b", Credited{"t1"}).
		ThenSent(Complete{"t1"}).
		ThenDeadlines(nil).
		ThenStatus(saga.Completed, "").
		ThenState(transfer{"t1", "a", "b", 30})
}

// The two ways a "no" reaches the saga: an event it handles, and a
// refused command. Both compensate the done steps, newest first.
func TestFailures(t *testing.T) {
	sagatest.For(t, definition()).
		Given("transfer-t1", t1).
		Given("account-a", DebitDeclined{"t1"}).
		ThenSent(Debit{"a", "t1", 30}, Fail{"t1"}).
		ThenCompensated("insufficient funds", Fail{"t1"})

	sagatest.For(t, definition()).
		Refuse(Credit{"b", "t1", 30}, errFrozen).
		Given("transfer-t1", t1).
		Given("account-a", Debited{"t1", 30}).
		ThenSent(Debit{"a", "t1", 30}, Credit{"b", "t1", 30}, Refund{"a", "t1", 30}, Fail{"t1"}).
		ThenCompensated("Credit refused: account is frozen", Refund{"a", "t1", 30}, Fail{"t1"}).
		ThenDeadlines(nil)
}

// A transient failure is retried by the clock; a deadline fails the saga.
func TestRetriesAndDeadlines(t *testing.T) {
	down := true
	spec := sagatest.For(t, definition()).
		Answer(func(cmd any) error {
			if _, ok := cmd.(Credit); ok && down {
				return errors.New("bank b unreachable")
			}
			return nil
		}).
		Given("transfer-t1", t1).
		Given("account-a", Debited{"t1", 30}).
		ThenSent(Debit{"a", "t1", 30}, Credit{"b", "t1", 30}).
		After(500*time.Millisecond).
		ThenSent(). // not yet: the back-off is a second
		After(time.Second).
		ThenSent(Credit{"b", "t1", 30}).
		ThenStatus(saga.Running, "")
	down = false
	spec.After(24*time.Hour).
		ThenSent(Credit{"b", "t1", 30}, Refund{"a", "t1", 30}, Fail{"t1"}).
		ThenCompensated("deadline credit expired", Refund{"a", "t1", 30}, Fail{"t1"})
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestReports(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(*sagatest.Spec[transfer])
		want string
	}{
		{"wrong command", func(s *sagatest.Spec[transfer]) { s.Given("transfer-t1", t1).ThenSent(Debit{"a", "t1", 31}) },
			"commands sent differ (- want, + got):\n- 1. sagatest_test.Debit {\"Account\":\"a\",\"Transfer\":\"t1\",\"Amount\":31}\n" +
				"+ 1. sagatest_test.Debit {\"Account\":\"a\",\"Transfer\":\"t1\",\"Amount\":30}"},
		{"unregistered event", func(s *sagatest.Spec[transfer]) { s.Given("transfer-t1", "t1 requested") },
			`given event string "t1 requested": eventstore: Go type string is not registered`},
		{"no instance", func(s *sagatest.Spec[transfer]) { s.Given("account-a", Debited{"t9", 1}).ThenStatus(saga.Running, "") },
			"transfer has 0 instances"},
		{"unknown instance", func(s *sagatest.Spec[transfer]) { s.Instance("t9").ThenStatus(saga.Running, "") },
			`transfer has no instance "t9"`},
		{"status", func(s *sagatest.Spec[transfer]) { s.Given("transfer-t1", t1).ThenStatus(saga.Completed, "") },
			`transfer/t1 is running (reason ""), want completed (reason "")`},
		{"not compensated", func(s *sagatest.Spec[transfer]) { s.Given("transfer-t1", t1).ThenCompensated("x") },
			`is running (reason ""), want compensated (reason "x")`},
		{"compensation order", func(s *sagatest.Spec[transfer]) {
			s.Refuse(Credit{"b", "t1", 30}, errFrozen).Given("transfer-t1", t1).Given("account-a", Debited{"t1", 30}).
				ThenCompensated("Credit refused: account is frozen", Fail{"t1"}, Refund{"a", "t1", 30})
		}, "compensations differ"},
		{"deadlines", func(s *sagatest.Spec[transfer]) {
			s.Given("transfer-t1", t1).Given("account-a", Debited{"t1", 30}).ThenDeadlines(map[string]time.Duration{"credit": time.Hour})
		}, "deadlines credit in 24h0m0s, want credit in 1h0m0s"},
		{"parked", func(s *sagatest.Spec[transfer]) { s.Given("transfer-t1", t1).ThenParked("broken") },
			`no event parked with an error containing "broken"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &recorder{TB: t}
			c.run(sagatest.For(r, definition()))
			if len(r.errors) != 1 || !strings.Contains(r.errors[0], c.want) {
				t.Errorf("failures %q, want one containing %q", r.errors, c.want)
			}
		})
	}
	sagatest.For(t, definition()).Given("transfer-t1", t1).Given("transfer-t1", Broken{"t1"}).ThenParked("cannot handle a broken transfer")

	r := &recorder{TB: t}
	bad := saga.New[transfer]("bad", saga.Options{})
	sagatest.For(r, bad).Given("x", t1)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "no event starts an instance") {
		t.Errorf("an invalid definition: %q", r.errors)
	}
}
