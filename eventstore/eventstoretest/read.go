package eventstoretest

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testReadStream(t *testing.T) {
	// seed appends stream "read-s" with versions 1..10 (in three appends)
	// interleaved with events of two other streams.
	seed := func(t *testing.T) (eventstore.Store, []eventstore.Event) {
		st := s.store(t)
		var evs []eventstore.Event
		for i, n := range []int{4, 1, 5} {
			batch := numbered("R", len(evs)+1, n)
			appendOK(t, st, "read-s", eventstore.Exact(uint64(len(evs))), batch...)
			evs = append(evs, batch...)
			appendOK(t, st, "read-other", eventstore.Any, numbered("O", i, 2)...)
			appendOK(t, st, "read-s-longer-name", eventstore.Any, numbered("P", i, 1)...)
		}
		return st, evs
	}
	cases := []struct {
		name string
		opts eventstore.ReadStreamOptions
		want []uint64
	}{
		{"Forwards", eventstore.ReadStreamOptions{}, seq(1, 10)},
		{"Forwards/From1", eventstore.ReadStreamOptions{From: 1}, seq(1, 10)},
		{"Forwards/From4", eventstore.ReadStreamOptions{From: 4}, seq(4, 10)},
		{"Forwards/FromLast", eventstore.ReadStreamOptions{From: 10}, seq(10, 10)},
		{"Forwards/PastEnd", eventstore.ReadStreamOptions{From: 11}, []uint64{}},
		{"Forwards/FromMax", eventstore.ReadStreamOptions{From: math.MaxUint64}, []uint64{}},
		{"Forwards/Limit", eventstore.ReadStreamOptions{Limit: 3}, seq(1, 3)},
		{"Forwards/FromLimit", eventstore.ReadStreamOptions{From: 4, Limit: 3}, seq(4, 6)},
		{"Forwards/LimitPastEnd", eventstore.ReadStreamOptions{From: 8, Limit: 5}, seq(8, 10)},
		{"Forwards/LimitLarge", eventstore.ReadStreamOptions{Limit: 1_000_000}, seq(1, 10)},
		{"Backwards", eventstore.ReadStreamOptions{Direction: eventstore.Backwards}, seq(10, 1)},
		{"Backwards/From5", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 5}, seq(5, 1)},
		{"Backwards/From1", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 1}, seq(1, 1)},
		{"Backwards/FromPastEnd", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 11}, seq(10, 1)},
		{"Backwards/FromMax", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: math.MaxUint64}, seq(10, 1)},
		{"Backwards/Limit", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, Limit: 3}, seq(10, 8)},
		{"Backwards/FromLimit", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 5, Limit: 2}, seq(5, 4)},
		{"Backwards/LimitPastStart", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 2, Limit: 5}, seq(2, 1)},
	}
	// The option cases only read: they share one seeded store.
	t.Run("Options", func(t *testing.T) {
		st, evs := seed(t)
		all := readStream(t, st, "read-s", eventstore.ReadStreamOptions{})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := readStream(t, st, "read-s", c.opts)
				equal(t, c.want, versions(got), "versions read with %+v", c.opts)
				for i, e := range got {
					requireSameEvent(t, evs[e.Version-1], e)
					equal(t, "read-s", e.StreamID, "StreamID")
					equal(t, all[e.Version-1].Position, e.Position, "position of version %d", e.Version)
					if i > 0 {
						if c.opts.Direction == eventstore.Backwards {
							isTrue(t, e.Position.Before(got[i-1].Position), "backwards positions must decrease")
						} else {
							isTrue(t, e.Position.After(got[i-1].Position), "forwards positions must increase")
						}
					}
				}
			})
		}
	})

	t.Run("MissingStream", func(t *testing.T) {
		st, _ := seed(t)
		for _, opts := range []eventstore.ReadStreamOptions{
			{},
			{Direction: eventstore.Backwards},
			{From: 3, Limit: 2},
		} {
			// "read" is a prefix of existing streams, not a stream.
			for _, stream := range []string{"read-missing", "read", "read-s-"} {
				evs, err := collect(st.ReadStream(t.Context(), stream, opts))
				equal(t, 0, len(evs), "events of missing stream %q", stream)
				requireNotFound(t, err, stream)
			}
		}
	})

	t.Run("InvalidStreamID", func(t *testing.T) {
		st, _ := seed(t)
		for _, stream := range []string{"", "bad\x00id", "bad\xffid"} {
			evs, err := collect(st.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{}))
			equal(t, 0, len(evs), "events of stream %q", stream)
			errIs(t, err, eventstore.ErrInvalidStreamID, "ReadStream(%q)", stream)
		}
	})

	t.Run("BreakEarly", func(t *testing.T) {
		st, evs := seed(t)
		for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
			n := 0
			for e, err := range st.ReadStream(t.Context(), "read-s", eventstore.ReadStreamOptions{Direction: dir}) {
				noErr(t, err, "ReadStream %v", dir)
				isTrue(t, e.Version >= 1 && e.Version <= 10, "version %d", e.Version)
				n++
				if n == 2 {
					break
				}
			}
			equal(t, 2, n, "events before break")
		}
		// Breaking out released whatever the read held: the store still
		// appends and reads.
		appendOK(t, st, "read-s", eventstore.Exact(10), event("After", `{}`))
		got := readStream(t, st, "read-s", eventstore.ReadStreamOptions{})
		equal(t, seq(1, 11), versions(got), "versions")
		requireSameEvent(t, evs[9], got[9])
	})

	t.Run("ManyEvents", func(t *testing.T) {
		// Long enough to span several batches of any reasonable backend.
		st := s.store(t)
		const n = 2500
		var evs []eventstore.Event
		for len(evs) < n {
			batch := numbered("M", len(evs)+1, 500)
			appendOK(t, st, "read-many", eventstore.Exact(uint64(len(evs))), batch...)
			evs = append(evs, batch...)
		}
		got := readStream(t, st, "read-many", eventstore.ReadStreamOptions{})
		equal(t, seq(1, n), versions(got), "versions forwards")
		equal(t, ids(evs), recordedIDs(got), "event IDs forwards")
		back := readStream(t, st, "read-many", eventstore.ReadStreamOptions{Direction: eventstore.Backwards})
		equal(t, seq(n, 1), versions(back), "versions backwards")
		from := readStream(t, st, "read-many", eventstore.ReadStreamOptions{From: 1001, Limit: 1200})
		equal(t, seq(1001, 2200), versions(from), "versions from 1001, limit 1200")
	})

	t.Run("UnusualStreamIDs", func(t *testing.T) {
		st := s.store(t)
		max := string(slices.Repeat([]byte("x"), s.opts.Limits.MaxStreamIDLength))
		for i, stream := range []string{
			"заказ-🎉", `quote"and'apostrophe`, "semi;colon -- DROP TABLE events;",
			"back\\slash/and/slash", "percent%_underscore", "with spaces", "$all", max,
		} {
			e := event("U", fmt.Sprintf(`{"i":%d}`, i))
			appendOK(t, st, stream, eventstore.NoStream, e)
			got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
			equal(t, 1, len(got), "events in stream %q", stream)
			equal(t, stream, got[0].StreamID, "StreamID")
			requireSameEvent(t, e, got[0])
		}
		// Prefix-like IDs are not patterns: "percent%" matches nothing.
		requireStreamMissing(t, st, "percent%")
		requireStreamMissing(t, st, "percent__underscore")
		equal(t, 8, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
	})
}

func (s *suite) testReadAll(t *testing.T) {
	// seed appends 300 events over 20 streams in batches of 1 to 4, and
	// returns them in append order.
	seed := func(t *testing.T) (eventstore.Store, []eventstore.Event, []eventstore.Position) {
		st := s.store(t)
		var evs []eventstore.Event
		var pos []eventstore.Position
		for i := 0; len(evs) < 300; i++ {
			batch := numbered(fmt.Sprintf("T%d", i%3), len(evs), 1+i%4)
			res := appendOK(t, st, fmt.Sprintf("all-%d", i%20), eventstore.Any, batch...)
			evs = append(evs, batch...)
			pos = append(pos, res.Positions...)
		}
		return st, evs, pos
	}
	requireLog := func(t *testing.T, want []eventstore.Event, got []eventstore.RecordedEvent) {
		t.Helper()
		equal(t, ids(want), recordedIDs(got), "event IDs in log order")
		for i := range got {
			requireSameEvent(t, want[i], got[i])
		}
	}

	t.Run("Empty", func(t *testing.T) {
		st := s.store(t)
		equal(t, 0, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in an empty log")
		equal(t, 0, len(readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards})), "events in an empty log backwards")
	})

	t.Run("Forwards", func(t *testing.T) {
		st, evs, pos := seed(t)
		got := readAll(t, st, eventstore.ReadAllOptions{})
		requireLog(t, evs, got)
		equal(t, pos, positions(got), "positions match the AppendResults")
		requireIncreasing(t, positions(got))
		// Each stream's versions ascend without a gap.
		next := map[string]uint64{}
		for _, e := range got {
			next[e.StreamID]++
			equal(t, next[e.StreamID], e.Version, "version of the next event of %q", e.StreamID)
		}
		equal(t, 20, len(next), "streams")
	})

	t.Run("FromPosition", func(t *testing.T) {
		st, evs, pos := seed(t)
		for _, k := range []int{0, 1, 137, 298, 299} {
			got := readAll(t, st, eventstore.ReadAllOptions{From: pos[k]})
			requireLog(t, evs[k+1:], got)
		}
		equal(t, 0, len(readAll(t, st, eventstore.ReadAllOptions{From: eventstore.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}})), "events after the largest position")
	})

	t.Run("Backwards", func(t *testing.T) {
		st, evs, pos := seed(t)
		reversed := slices.Clone(evs)
		slices.Reverse(reversed)
		requireLog(t, reversed, readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards}))
		for _, k := range []int{0, 1, 150, 299} {
			got := readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards, From: pos[k]})
			want := slices.Clone(evs[:k])
			slices.Reverse(want)
			requireLog(t, want, got)
		}
		got := readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards, From: eventstore.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}})
		requireLog(t, reversed, got)
	})

	t.Run("Limit", func(t *testing.T) {
		st, evs, pos := seed(t)
		requireLog(t, evs[:10], readAll(t, st, eventstore.ReadAllOptions{Limit: 10}))
		requireLog(t, evs[51:71], readAll(t, st, eventstore.ReadAllOptions{From: pos[50], Limit: 20}))
		requireLog(t, evs[290:], readAll(t, st, eventstore.ReadAllOptions{From: pos[289], Limit: 100}))
		requireLog(t, evs, readAll(t, st, eventstore.ReadAllOptions{Limit: 1_000_000}))
		got := readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 5})
		equal(t, ids([]eventstore.Event{evs[299], evs[298], evs[297], evs[296], evs[295]}), recordedIDs(got), "last five, backwards")
		got = readAll(t, st, eventstore.ReadAllOptions{Direction: eventstore.Backwards, From: pos[100], Limit: 3})
		equal(t, ids([]eventstore.Event{evs[99], evs[98], evs[97]}), recordedIDs(got), "three before event 100, backwards")
	})

	t.Run("PagingCoversTheLog", func(t *testing.T) {
		// Reading page by page from the last position seen delivers the
		// log exactly once: what checkpointed readers rely on.
		st, evs, _ := seed(t)
		var got []eventstore.RecordedEvent
		from := eventstore.Start
		for range len(evs) + 1 {
			page := readAll(t, st, eventstore.ReadAllOptions{From: from, Limit: 7})
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			from = page[len(page)-1].Position
		}
		requireLog(t, evs, got)
	})

	t.Run("BreakEarly", func(t *testing.T) {
		st, evs, _ := seed(t)
		// Enough events to span several batches.
		for i := range 4 {
			batch := numbered("Big", i*500, 500)
			appendOK(t, st, "all-big", eventstore.Any, batch...)
			evs = append(evs, batch...)
		}
		settle(t, st)
		for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
			n := 0
			for _, err := range st.ReadAll(t.Context(), eventstore.ReadAllOptions{Direction: dir}) {
				noErr(t, err, "ReadAll %v", dir)
				n++
				if n == 1100 {
					break
				}
			}
			equal(t, 1100, n, "events before break")
		}
		appendOK(t, st, "all-after-break", eventstore.NoStream, event("After", `{}`))
		equal(t, len(evs)+1, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
	})
}
