package eventstore_test

import (
	"math"
	"slices"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func TestPositionOrder(t *testing.T) {
	p := func(c, pr uint64) eventstore.Position { return eventstore.Position{Commit: c, Prepare: pr} }
	// Sorted lexicographically: commit first, then prepare.
	sorted := []eventstore.Position{
		eventstore.Start, p(0, 1), p(1, 0), p(1, 1), p(1, 2), p(2, 0), p(2, math.MaxUint64), p(math.MaxUint64, 0), p(math.MaxUint64, math.MaxUint64),
	}
	for i, a := range sorted {
		for j, b := range sorted {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if a.Before(b) != (i < j) || a.After(b) != (i > j) {
				t.Errorf("%v Before/After %v wrong", a, b)
			}
		}
	}
	shuffled := []eventstore.Position{sorted[5], sorted[0], sorted[8], sorted[2], sorted[7], sorted[1], sorted[4], sorted[6], sorted[3]}
	slices.SortFunc(shuffled, eventstore.Position.Compare)
	if !slices.Equal(shuffled, sorted) {
		t.Errorf("sorted with Compare: %v", shuffled)
	}
	if !eventstore.Start.IsZero() || p(0, 1).IsZero() || p(1, 0).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestParsePosition(t *testing.T) {
	for _, p := range []eventstore.Position{
		{}, {Commit: 1, Prepare: 1}, {Commit: 12345, Prepare: 7}, {Commit: math.MaxUint64, Prepare: math.MaxUint64},
	} {
		got, err := eventstore.ParsePosition(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePosition(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if s := (eventstore.Position{Commit: 10, Prepare: 3}).String(); s != "10/3" {
		t.Errorf("String() = %q, want 10/3", s)
	}
	for _, bad := range []string{"", "10", "10/", "/3", "a/b", "-1/2", "1/2/3", "18446744073709551616/0", " 1/2", "1 /2"} {
		if p, err := eventstore.ParsePosition(bad); err == nil {
			t.Errorf("ParsePosition(%q) = %v, want an error", bad, p)
		}
	}
}
