package eventstoretest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

func (s *suite) testIdempotency(t *testing.T) {
	t.Run("RetrySucceedsWithOriginalResult", func(t *testing.T) {
		st := s.store(t)
		const stream = "idem-1"
		ab := numbered("A", 1, 2)
		r1 := appendOK(t, st, stream, eventstore.NoStream, ab...)
		appendOK(t, st, "idem-other", eventstore.NoStream, event("Other", `{}`))
		c := numbered("C", 3, 1)
		r2 := appendOK(t, st, stream, eventstore.Exact(2), c...)

		retries := []struct {
			name     string
			expected eventstore.ExpectedVersion
			events   []eventstore.Event
			want     eventstore.AppendResult
		}{
			{"NoStream", eventstore.NoStream, ab, r1},
			{"Exact0", eventstore.Exact(0), ab, r1},
			{"Any", eventstore.Any, ab, r1},
			{"StreamExists", eventstore.StreamExists, ab, r1},
			{"Exact2", eventstore.Exact(2), c, r2},
			{"Any/LastAppend", eventstore.Any, c, r2},
		}
		for _, r := range retries {
			res, err := st.Append(t.Context(), stream, r.expected, r.events...)
			noErr(t, err, "retry %s", r.name)
			equal(t, r.want.Version, res.Version, "retry %s: AppendResult.Version", r.name)
			equal(t, r.want.Positions, res.Positions, "retry %s: AppendResult.Positions", r.name)
		}
		// Nothing written by any retry.
		got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
		equal(t, seq(1, 3), versions(got), "versions after retries")
		equal(t, slices.Concat(ids(ab), ids(c)), recordedIDs(got), "event IDs after retries")
		equal(t, 4, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log after retries")
	})

	t.Run("RetryWithChangedPayloadWritesNothing", func(t *testing.T) {
		// The event ID decides: a retry carrying a changed payload is still
		// the same event, and the stored one stays.
		st := s.store(t)
		e := event("A", `{"try":1}`)
		r1 := appendOK(t, st, "idem-payload", eventstore.NoStream, e)
		e.Data = []byte(`{"try":2}`)
		r2 := appendOK(t, st, "idem-payload", eventstore.NoStream, e)
		equal(t, r1, r2, "AppendResult of the retry")
		got := readStream(t, st, "idem-payload", eventstore.ReadStreamOptions{})
		equal(t, 1, len(got), "events in the stream")
		requirePayload(t, []byte(`{"try":1}`), got[0].Data, "stored payload")
	})

	// Each case stores [A B C] in stream "idem-s" and [D E] in "idem-t",
	// then appends reusing stored IDs where a retry would not put them.
	type reuse struct {
		name     string
		stream   string
		expected eventstore.ExpectedVersion
		// events: letters name stored events, "x" and "y" are new ones.
		events string
		// crossStream: the reused IDs are stored in another stream only,
		// which a backend of IdempotencyStream scope need not detect.
		crossStream bool
	}
	cases := []reuse{
		{"OtherStream", "idem-t", eventstore.Any, "A", true},
		{"OtherStream/NoStream", "idem-new", eventstore.NoStream, "AB", true},
		{"OtherStream/Exact", "idem-t", eventstore.Exact(2), "C", true},
		{"OtherVersion", "idem-s", eventstore.Exact(1), "AB", false},
		{"OtherVersion/AfterHead", "idem-s", eventstore.Exact(3), "A", false},
		{"OtherVersion/NoStream", "idem-s", eventstore.NoStream, "BC", false},
		{"OtherOrder", "idem-s", eventstore.NoStream, "BA", false},
		{"PartialOverlap/NewFirst", "idem-s", eventstore.Exact(3), "xC", false},
		{"PartialOverlap/NewLast", "idem-s", eventstore.Exact(1), "Bx", false},
		{"PartialOverlap/Gap", "idem-s", eventstore.NoStream, "AC", false},
		{"MoreEventsThanStored", "idem-t", eventstore.NoStream, "DEx", false},
		{"MoreEventsThanStored/Any", "idem-t", eventstore.Any, "DEx", false},
		{"StoredElsewhereInMiddle", "idem-t", eventstore.Exact(2), "xAy", true},
	}
	// The cases use streams of their own in one store: stream names in the
	// table get the case's number as a suffix.
	t.Run("Conflict", func(t *testing.T) {
		st := s.store(t)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				name := func(stream string) string { return fmt.Sprintf("%s-%d", stream, i) }
				stored := map[byte]eventstore.Event{}
				for j, ch := range []byte("ABC") {
					stored[ch] = event("S", fmt.Sprintf(`{"i":%d}`, j))
				}
				for _, ch := range []byte("DE") {
					stored[ch] = event("T", `{}`)
				}
				appendOK(t, st, name("idem-s"), eventstore.NoStream, stored['A'], stored['B'], stored['C'])
				appendOK(t, st, name("idem-t"), eventstore.NoStream, stored['D'], stored['E'])
				before := readAll(t, st, eventstore.ReadAllOptions{})

				var evs []eventstore.Event
				var fresh []eventstore.Event
				for _, ch := range []byte(c.events) {
					if e, ok := stored[ch]; ok {
						evs = append(evs, e)
						continue
					}
					e := event("New", `{}`)
					fresh = append(fresh, e)
					evs = append(evs, e)
				}
				actual := map[string]uint64{"idem-s": 3, "idem-t": 2}[c.stream]
				res, err := st.Append(t.Context(), name(c.stream), c.expected, evs...)
				if err == nil && c.crossStream && s.opts.Idempotency == IdempotencyStream {
					// Not detected, as the scope allows: the events must then
					// be new events of this stream, right after its head.
					got := readStream(t, st, name(c.stream), eventstore.ReadStreamOptions{From: actual + 1})
					equal(t, ids(evs), recordedIDs(got), "an append reusing IDs of another stream, not detected (IdempotencyStream), must write its events to its own stream")
					equal(t, actual+uint64(len(evs)), res.Version, "AppendResult.Version of that append")
					equal(t, positions(got), res.Positions, "AppendResult.Positions of that append")
					return
				}
				requireDuplicate(t, err, name(c.stream), c.expected, actual, ids(evs))

				// Nothing written: the log is unchanged, and the new events'
				// IDs are still free.
				equal(t, recordedIDs(before), recordedIDs(readAll(t, st, eventstore.ReadAllOptions{})), "the log after the conflict")
				if len(fresh) > 0 {
					appendOK(t, st, name("idem-fresh"), eventstore.NoStream, fresh...)
				}
			})
		}
	})

	t.Run("AssignsMissingIDs", func(t *testing.T) {
		st := s.store(t)
		zero := eventstore.Event{Type: "NoID", Data: []byte(`{}`)}
		appendOK(t, st, "idem-zero", eventstore.NoStream, zero, zero)
		// Without an ID an append is not idempotent: the same event again
		// is a new event.
		appendOK(t, st, "idem-zero", eventstore.Any, zero)
		got := readStream(t, st, "idem-zero", eventstore.ReadStreamOptions{})
		equal(t, 3, len(got), "events")
		seen := map[uuid.UUID]bool{}
		for _, e := range got {
			isTrue(t, e.ID != uuid.Nil, "the store must assign an ID to an event without one")
			equal(t, uuid.Version(7), e.ID.Version(), "version of the assigned ID %s", e.ID)
			isTrue(t, !seen[e.ID], "assigned ID %s given twice", e.ID)
			seen[e.ID] = true
		}
	})
}
