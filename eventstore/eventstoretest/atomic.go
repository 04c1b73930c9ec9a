package eventstoretest

import (
	"slices"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testAtomicAppend(t *testing.T) {
	t.Run("MultiEventContiguous", func(t *testing.T) {
		st := s.store(t)
		first := numbered("A", 1, 5)
		res := appendOK(t, st, "atomic-1", eventstore.NoStream, first...)
		equal(t, uint64(5), res.Version, "AppendResult.Version")
		appendOK(t, st, "atomic-2", eventstore.NoStream, numbered("B", 1, 2)...)
		second := numbered("A", 6, 3)
		res2 := appendOK(t, st, "atomic-1", eventstore.Exact(5), second...)
		equal(t, uint64(8), res2.Version, "AppendResult.Version")
		isTrue(t, res.Positions[4].Before(res2.Positions[0]), "a later append's positions follow an earlier one's")

		got := readStream(t, st, "atomic-1", eventstore.ReadStreamOptions{})
		equal(t, seq(1, 8), versions(got), "versions")
		for i, e := range slices.Concat(first, second) {
			requireSameEvent(t, e, got[i])
			equal(t, "atomic-1", got[i].StreamID, "StreamID")
		}
		equal(t, slices.Concat(res.Positions, res2.Positions), positions(got), "AppendResult.Positions match the read")
	})

	t.Run("LargeAppend", func(t *testing.T) {
		st := s.store(t)
		evs := numbered("Bulk", 1, 1000)
		res := appendOK(t, st, "atomic-large", eventstore.NoStream, evs...)
		equal(t, uint64(1000), res.Version, "AppendResult.Version")
		got := readStream(t, st, "atomic-large", eventstore.ReadStreamOptions{})
		equal(t, seq(1, 1000), versions(got), "versions")
		equal(t, ids(evs), recordedIDs(got), "event IDs in order")
		equal(t, res.Positions, positions(got), "AppendResult.Positions match the read")
	})

	t.Run("OneBadEventWritesNothing", func(t *testing.T) {
		st := s.store(t)
		bad := numbered("A", 1, 4)
		bad[2].Data = []byte(`{"broken":`)
		_, err := st.Append(t.Context(), "atomic-bad", eventstore.Any, bad...)
		requireInvalid(t, err, eventstore.ErrInvalidEvent, "atomic-bad", 2)
		requireStreamMissing(t, st, "atomic-bad")
		equal(t, 0, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")

		// On an existing stream too; and the good events' IDs were not
		// stored, so they can be appended afterwards.
		appendOK(t, st, "atomic-bad", eventstore.NoStream, event("Seed", `{}`))
		bad[2].Type = ""
		bad[2].Data = []byte(`{}`)
		_, err = st.Append(t.Context(), "atomic-bad", eventstore.Exact(1), bad...)
		requireInvalid(t, err, eventstore.ErrInvalidEvent, "atomic-bad", 2)
		equal(t, uint64(1), streamVersion(t, st, "atomic-bad"), "version after a refused append")
		bad[2].Type = "A"
		res := appendOK(t, st, "atomic-bad", eventstore.Exact(1), bad...)
		equal(t, uint64(5), res.Version, "AppendResult.Version")
		equal(t, 5, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
	})

	t.Run("InputCopied", func(t *testing.T) {
		st := s.store(t)
		data := []byte(`{"v":"original"}`)
		md := eventstore.Metadata{CorrelationID: "c-1"}.With("k", "original")
		e := eventstore.Event{ID: eventstore.NewEventID(), Type: "Copied", Data: data, Metadata: md}
		appendOK(t, st, "atomic-copy", eventstore.NoStream, e)
		// The caller reuses its buffers: history must not change.
		copy(data, `{"v":"CHANGED!"}`)
		md.Values["k"] = "changed"
		got := readStream(t, st, "atomic-copy", eventstore.ReadStreamOptions{})
		requirePayload(t, []byte(`{"v":"original"}`), got[0].Data, "payload after the caller changed its buffer")
		equal(t, "original", got[0].Metadata.Get("k"), "metadata after the caller changed its map")
	})
}
