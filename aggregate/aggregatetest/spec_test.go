package aggregatetest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/aggregate/aggregatetest"
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
	l := aggregatetest.For(t, newLamp).Given(SwitchedOff{}).When(on("ann")).Then(SwitchedOn{By: "ann"})
	if !l.On || l.Version() != 1 || l.AggregateID() != "test" {
		t.Fatalf("state after Then: %+v v%d", l, l.Version())
	}
	aggregatetest.For(t, newLamp).Given(SwitchedOn{By: "x"}).When(on("ann")).ThenError(ErrAlreadyOn)
	aggregatetest.For(t, newLamp).WithID("l-1").When(func(l *Lamp) error { return nil }).Then()
}

func TestThenReportsADiff(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, newLamp).When(on("ann")).Then(SwitchedOn{By: "bob"}, SwitchedOff{})
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
	aggregatetest.For(r, newLamp).Given(SwitchedOn{}).When(on("ann")).Then(SwitchedOn{By: "ann"})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "the command failed: lamp: already on") {
		t.Fatalf("failures %q", r.errors)
	}
}

func TestThenErrorReports(t *testing.T) {
	r := &recorder{TB: t}
	aggregatetest.For(r, newLamp).When(on("ann")).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "the command succeeded, want error lamp: already on") ||
		!strings.Contains(r.errors[0], `1. aggregatetest_test.SwitchedOn {"by":"ann"}`) {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	other := errors.New("other")
	aggregatetest.For(r, newLamp).When(func(*Lamp) error { return other }).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "failed with other, want lamp: already on") {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, newLamp).When(func(l *Lamp) error {
		aggregate.Record(l, SwitchedOff{})
		return ErrAlreadyOn
	}).ThenError(ErrAlreadyOn)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "failed but recorded") {
		t.Fatalf("failures %q", r.errors)
	}
	r.errors = nil
	aggregatetest.For(r, newLamp).Then()
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

func TestDeciderStyle(t *testing.T) {
	st := aggregatetest.ForDecider(t, tank).Given(Filled{Litres: 50}).When(Fill{Litres: 30}).Then(Filled{Litres: 30})
	if st.Value.Litres != 80 {
		t.Fatalf("state %+v", st.Value)
	}
	aggregatetest.ForDecider(t, tank).Given(Filled{Litres: 90}).When(Fill{Litres: 30}).ThenError(ErrOverflow)

	r := &recorder{TB: t}
	aggregatetest.ForDecider(r, tank).When(Fill{Litres: 30}).Then(Filled{Litres: 20})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `- 1. aggregatetest_test.Filled {"litres":20}`) {
		t.Fatalf("failures %q", r.errors)
	}
}
