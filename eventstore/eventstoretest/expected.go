package eventstoretest

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testExpectedVersion(t *testing.T) {
	type tc struct {
		name     string
		existing int // events in the stream before the append
		expected eventstore.ExpectedVersion
		ok       bool
	}
	cases := []tc{
		{"MissingStream/Any", 0, eventstore.Any, true},
		{"MissingStream/NoStream", 0, eventstore.NoStream, true},
		{"MissingStream/StreamExists", 0, eventstore.StreamExists, false},
		{"MissingStream/Exact0", 0, eventstore.Exact(0), true},
		{"MissingStream/Exact1", 0, eventstore.Exact(1), false},
		{"MissingStream/ExactMax", 0, eventstore.Exact(math.MaxUint64), false},
		{"ExistingStream/Any", 2, eventstore.Any, true},
		{"ExistingStream/NoStream", 2, eventstore.NoStream, false},
		{"ExistingStream/StreamExists", 2, eventstore.StreamExists, true},
		{"ExistingStream/ExactCurrent", 2, eventstore.Exact(2), true},
		{"ExistingStream/Exact0", 2, eventstore.Exact(0), false},
		{"ExistingStream/ExactBehind", 2, eventstore.Exact(1), false},
		{"ExistingStream/ExactAhead", 2, eventstore.Exact(3), false},
		{"ExistingStream/ExactMax", 2, eventstore.Exact(math.MaxUint64), false},
	}
	// The cases use streams of their own in one store.
	t.Run("Cases", func(t *testing.T) {
		st := s.store(t)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				stream := fmt.Sprintf("expected-%d", i)
				var before []eventstore.Event
				if c.existing > 0 {
					before = numbered("Seeded", 1, c.existing)
					appendOK(t, st, stream, eventstore.NoStream, before...)
				}
				// Another stream, so that versions are per stream and not
				// global positions.
				appendOK(t, st, fmt.Sprintf("expected-other-%d", i), eventstore.Any, numbered("Other", 1, 3)...)
				logBefore := len(readAll(t, st, eventstore.ReadAllOptions{}))
				evs := numbered("Appended", 1, 2)
				res, err := st.Append(t.Context(), stream, c.expected, evs...)
				if c.ok {
					noErr(t, err)
					equal(t, uint64(c.existing+2), res.Version, "AppendResult.Version")
					equal(t, 2, len(res.Positions), "len(AppendResult.Positions)")
					got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
					equal(t, seq(1, uint64(c.existing+2)), versions(got))
					for i, e := range slices.Concat(before, evs) {
						requireSameEvent(t, e, got[i])
					}
					equal(t, res.Positions, positions(got[c.existing:]), "AppendResult.Positions match the read")
					return
				}
				requireConflict(t, err, stream, c.expected, uint64(c.existing))
				equal(t, eventstore.AppendResult{}, res, "a refused append returns the zero result")
				// Nothing written.
				if c.existing == 0 {
					requireStreamMissing(t, st, stream)
				} else {
					equal(t, uint64(c.existing), streamVersion(t, st, stream))
				}
				equal(t, logBefore, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
			})
		}
	})

	t.Run("AfterConflict", func(t *testing.T) {
		st := s.store(t)
		const stream = "expected-after-conflict"
		appendOK(t, st, stream, eventstore.NoStream, numbered("A", 1, 3)...)
		// A stale writer conflicts...
		stale := numbered("B", 1, 2)
		_, err := st.Append(t.Context(), stream, eventstore.Exact(1), stale...)
		ce := requireConflict(t, err, stream, eventstore.Exact(1), 3)
		// ...and again: a conflict changes nothing.
		_, err = st.Append(t.Context(), stream, eventstore.Exact(1), stale...)
		requireConflict(t, err, stream, eventstore.Exact(1), 3)
		_, err = st.Append(t.Context(), stream, eventstore.NoStream, stale...)
		requireConflict(t, err, stream, eventstore.NoStream, 3)
		equal(t, uint64(3), streamVersion(t, st, stream))
		// Retrying with the actual version the error carried succeeds, with
		// the same event IDs: the refused appends stored none of them.
		res := appendOK(t, st, stream, eventstore.Exact(ce.Actual), stale...)
		equal(t, uint64(5), res.Version)
		got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
		equal(t, seq(1, 5), versions(got))
		requireSameEvent(t, stale[0], got[3])
		requireSameEvent(t, stale[1], got[4])
		// The next writer that read version 3 conflicts with actual 5.
		_, err = st.Append(t.Context(), stream, eventstore.Exact(3), event("C", `{}`))
		requireConflict(t, err, stream, eventstore.Exact(3), 5)
		appendOK(t, st, stream, eventstore.StreamExists, event("C", `{}`))
		equal(t, uint64(6), streamVersion(t, st, stream))
	})

	t.Run("VersionsPerStream", func(t *testing.T) {
		st := s.store(t)
		// Interleaved appends: each stream counts its own versions from 1.
		for i := range 3 {
			for _, stream := range []string{"per-stream-a", "per-stream-b", "per-stream-c"} {
				res := appendOK(t, st, stream, eventstore.Exact(uint64(i)), event("E", `{}`))
				equal(t, uint64(i+1), res.Version, "stream %s", stream)
			}
		}
		for _, stream := range []string{"per-stream-a", "per-stream-b", "per-stream-c"} {
			equal(t, seq(1, 3), versions(readStream(t, st, stream, eventstore.ReadStreamOptions{})))
		}
	})
}
