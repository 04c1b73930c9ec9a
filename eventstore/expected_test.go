package eventstore_test

import (
	"math"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func TestExpectedVersionSatisfied(t *testing.T) {
	cases := []struct {
		expected eventstore.ExpectedVersion
		current  uint64
		want     bool
	}{
		{eventstore.Any, 0, true},
		{eventstore.Any, 5, true},
		{eventstore.NoStream, 0, true},
		{eventstore.NoStream, 1, false},
		{eventstore.StreamExists, 0, false},
		{eventstore.StreamExists, 1, true},
		{eventstore.StreamExists, math.MaxUint64, true},
		{eventstore.Exact(0), 0, true},
		{eventstore.Exact(0), 1, false},
		{eventstore.Exact(3), 3, true},
		{eventstore.Exact(3), 2, false},
		{eventstore.Exact(3), 4, false},
		{eventstore.Exact(math.MaxUint64), math.MaxUint64, true},
	}
	for _, c := range cases {
		if got := c.expected.Satisfied(c.current); got != c.want {
			t.Errorf("%v.Satisfied(%d) = %v, want %v", c.expected, c.current, got, c.want)
		}
	}
}

func TestExpectedVersionString(t *testing.T) {
	for v, want := range map[eventstore.ExpectedVersion]string{
		eventstore.Any: "any", eventstore.NoStream: "no stream", eventstore.StreamExists: "stream exists", eventstore.Exact(42): "exactly 42",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	// Values compare equal, so errors can be checked with ==.
	if eventstore.Exact(7) != eventstore.ExpectedVersion(eventstore.ExactVersion(7)) || eventstore.Exact(7) == eventstore.Exact(8) {
		t.Error("Exact values do not compare by number")
	}
}
