package aggregatetest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/aggregate/aggregatetest"
	"github.com/chronicle-go/chronicle/eventstore"
)

type Lamp struct {
	aggregate.Root
	On bool
}

type SwitchedOn struct {
	By string `json:"by"`
}
type SwitchedOff struct{}

var ErrAlreadyOn = errors.New("lamp: already on")

func (l *Lamp) Apply(e any) {
	switch e.(type) {
	case SwitchedOn:
		l.On = true
	case SwitchedOff:
		l.On = false
	}
}

func (l *Lamp) SwitchOn(by string) error {
	if l.On {
		return ErrAlreadyOn
	}
	aggregate.Record(l, SwitchedOn{By: by})
	return nil
}

func newLamp() *Lamp { return &Lamp{} }

// lamps is the registry of the lamp's events, as its repository uses.
var lamps = func() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[SwitchedOn](r, "SwitchedOn")
	eventstore.MustRegister[SwitchedOff](r, "SwitchedOff")
	eventstore.MustRegister[Dimmed](r, "Dimmed")
	return r
}()

// Dimmed has a field JSON cannot carry: it is lost on the way to the store.
type Dimmed struct {
	Level int `json:"level"`
	by    string
}

func on(by string) func(*Lamp) error { return func(l *Lamp) error { return l.SwitchOn(by) } }

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestObjectStylePasses(t *testing.T) {
	l := aggregatetest.For(t, lamps, newLamp).Given(SwitchedOff{}).When(on("ann")).Then(SwitchedOn{By: "ann"})
	if !l.On || l.Version() != 1 || l.AggregateID() != "test" {
		t.Fatalf("state after Then: %+v v%d", l, l.Version())
	}
	aggregatetest.For(t, lamps, newLamp).Given(SwitchedOn{By: "x"}).When(on("ann")).ThenError(ErrAlreadyOn)
	aggregatetest.For(t, lamps, newLamp).WithID("l-1").When(func(l *Lamp) error { return nil }).Then()
}

func TestThenReportsADiff(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, lamps, newLamp).When(on("ann")).Then(SwitchedOn{By: "bob"}, SwitchedOff{})
	if len(r.errors) != 1 {
		t.Fatalf("failures %q", r.errors)
	}
	want := `aggregatetest: recorded events differ (- want, + got):
- 1. aggregatetest_test.SwitchedOn {"by":"bob"}
+ 1. aggregatetest_test.SwitchedOn {"by":"ann"}
- 2. aggregatetest_test.SwitchedOff {}
`
	if r.errors[0] != want {
		t.Fatalf("failure message\n%s\nwant\n%s", r.errors[0], want)
	}
}

func TestThenReportsAnError(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, lamps, newLamp).Given(SwitchedOn{}).When(on("ann")).Then(SwitchedOn{By: "ann"})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "the command failed: lamp: already on") {
		t.Fatalf("failures %q", r.errors)
	}
}

func TestThenErrorReports(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, lamps, newLamp).When(on("ann")).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "the command succeeded, want error lamp: already on") ||
		!strings.Contains(r.errors[0], `1. aggregatetest_test.SwitchedOn {"by":"ann"}`) {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	other := errors.New("other")
	aggregatetest.For(r, lamps, newLamp).When(func(*Lamp) error { return other }).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "failed with other, want lamp: already on") {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, lamps, newLamp).When(func(l *Lamp) error {
		aggregate.Record(l, SwitchedOff{})
		return ErrAlreadyOn
	}).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "failed but recorded") {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, lamps, newLamp).Then()
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "Then without When") {
		t.Fatalf("failures %q", r.errors)
	}
}

type Tank struct{ Litres int }
type Fill struct{ Litres int }
type Filled struct {
	Litres int `json:"litres"`
}

var ErrOverflow = errors.New("tank: overflow")

var tank = aggregate.Decider[Tank, Fill]{
	Decide: func(s Tank, c Fill) ([]any, error) {
		if s.Litres+c.Litres > 100 {
			return nil, ErrOverflow
		}
		return []any{Filled{Litres: c.Litres}}, nil
	},
	Evolve: func(s Tank, e any) Tank {
		if f, ok := e.(Filled); ok {
			s.Litres += f.Litres
		}
		return s
	},
}

var tanks = func() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Filled](r, "Filled")
	return r
}()

// Events go through the registry as a save and a load would: a value the
// registry cannot store fails the specification, given, wanted or
// recorded.
func TestEventsRoundTripThroughTheRegistry(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, lamps, newLamp).Given("switched on").When(on("ann")).Then(SwitchedOn{By: "ann"})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `given event string "switched on": eventstore: Go type string is not registered`) {
		t.Fatalf("a string as a given event: %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, lamps, newLamp).When(on("ann")).Then("SwitchedOn")
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `want event string "SwitchedOn"`) {
		t.Fatalf("a string as a wanted event: %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, lamps, newLamp).When(func(l *Lamp) error {
		aggregate.Record(l, "switched on")
		return nil
	}).Then()
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `the aggregate recorded string "switched on", which the registry cannot store and load`) {
		t.Fatalf("a string recorded: %q", r.errors)
	}
	// What the store would lose is lost here too.
	r.errors = nil
	aggregatetest.For(r, lamps, newLamp).When(func(l *Lamp) error {
		aggregate.Record(l, Dimmed{Level: 3, by: "ann"})
		return nil
	}).Then(Dimmed{Level: 3, by: "ann"})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "recorded events differ") {
		t.Fatalf("an unexported field: %q", r.errors)
	}
	aggregatetest.For(t, lamps, newLamp).When(func(l *Lamp) error {
		aggregate.Record(l, &Dimmed{Level: 3}) // a pointer comes back as the value
		return nil
	}).Then(Dimmed{Level: 3})
	r.errors = nil
	aggregatetest.For(r, nil, newLamp).When(on("ann")).Then(SwitchedOn{By: "ann"})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "no registry") {
		t.Fatalf("nil registry: %q", r.errors)
	}
}

func TestDeciderStyle(t *testing.T) {
	st := aggregatetest.ForDecider(t, tanks, tank).Given(Filled{Litres: 50}).When(Fill{Litres: 30}).Then(Filled{Litres: 30})
	if st.Value.Litres != 80 {
		t.Fatalf("state %+v", st.Value)
	}
	aggregatetest.ForDecider(t, tanks, tank).Given(Filled{Litres: 90}).When(Fill{Litres: 30}).ThenError(ErrOverflow)

	r := &recorder{TB: t}
	aggregatetest.ForDecider(r, tanks, tank).When(Fill{Litres: 30}).Then(Filled{Litres: 20})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `- 1. aggregatetest_test.Filled {"litres":20}`) {
		t.Fatalf("failures %q", r.errors)
	}
}
