package eventstoretest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

// FuzzAppend is a fuzz target for a backend's append validation, to call
// from the backend's own FuzzXxx function with one store for the whole run:
//
//	func FuzzAppend(f *testing.F) {
//		eventstoretest.FuzzAppend(f, memory.New(memory.Config{}), nil)
//	}
//
// Each input is one event — stream ID, type, payload, correlation ID, one
// metadata key and value, schema version — appended with
// [eventstore.Any]. The store must either refuse it with an
// [*eventstore.InvalidAppendError] and store nothing, or store it and read
// it back byte for byte: the same payload (so never larger than written),
// type and metadata. count, if not nil, returns how many events the store
// holds, so that a refusal can be checked to store nothing even for a
// stream ID no read can name. The seeds are the conformance suite's bad
// input and payload cases, and payloads whose numbers PostgreSQL's numeric
// cannot hold or would print a thousand times larger than written.
func FuzzAppend(f *testing.F, st eventstore.Store, count func(testing.TB) int) {
	for _, s := range fuzzSeeds() {
		f.Add(s.stream, s.typ, []byte(s.data), s.correlation, s.key, s.value, s.schema)
	}
	f.Fuzz(func(t *testing.T, stream, typ string, data []byte, correlation, key, value string, schema int) {
		e := eventstore.Event{ID: eventstore.NewEventID(), Type: typ, Data: data,
			Metadata: eventstore.Metadata{CorrelationID: correlation, SchemaVersion: schema}}
		if key != "" || value != "" {
			e.Metadata.Values = map[string]string{key: value}
		}
		before := -1
		if count != nil {
			before = count(t)
		}
		_, err := st.Append(t.Context(), stream, eventstore.Any, e)
		if err != nil {
			if _, ok := errors.AsType[*eventstore.InvalidAppendError](err); !ok {
				t.Fatalf("append refused with %v (%T), not an *eventstore.InvalidAppendError", err, err)
			}
			if count != nil {
				if after := count(t); after != before {
					t.Fatalf("a refused append (%v) changed the number of stored events from %d to %d", err, before, after)
				}
			}
			for got, rerr := range st.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{}) {
				if rerr != nil {
					break // an invalid stream ID, or no stream: nothing stored there
				}
				if got.ID == e.ID {
					t.Fatalf("a refused append (%v) was stored", err)
				}
			}
			return
		}
		var got []eventstore.RecordedEvent
		for r, rerr := range st.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, Limit: 1}) {
			if rerr != nil {
				t.Fatalf("read back: %v", rerr)
			}
			got = append(got, r)
		}
		if len(got) != 1 || got[0].ID != e.ID {
			t.Fatalf("the appended event is not the last of its stream: %v", got)
		}
		r := got[0]
		if !bytes.Equal(r.Data, data) {
			t.Fatalf("payload of %d bytes read back as %d bytes:\nwrote %.200q\n read %.200q", len(data), len(r.Data), data, r.Data)
		}
		if r.Type != typ || r.StreamID != stream {
			t.Fatalf("type %q, stream %q read back as %q, %q", typ, stream, r.Type, r.StreamID)
		}
		md := r.Metadata
		if md.CorrelationID != correlation || md.SchemaVersion != schema || len(md.Values) != len(e.Metadata.Values) ||
			(len(md.Values) == 1 && md.Values[key] != value) {
			t.Fatalf("metadata %+v read back as %+v", e.Metadata, md)
		}
	})
}

type fuzzSeed struct {
	stream, typ, data, correlation, key, value string
	schema                                     int
}

func fuzzSeeds() []fuzzSeed {
	ok := fuzzSeed{stream: "fuzz-1", typ: "Fuzzed", data: `{"ok":true}`}
	with := func(f func(*fuzzSeed)) fuzzSeed { s := ok; f(&s); return s }
	seeds := []fuzzSeed{ok}
	for _, id := range []string{"", "order\n1", "order\x001", "order\x7f1", "order\u00851", "order\xff1", "order-\xe2\x82",
		strings.Repeat("s", eventstore.DefaultMaxStreamIDLength+1), "日本語", `'; DROP TABLE events; --`, "prefix_%"} {
		seeds = append(seeds, with(func(s *fuzzSeed) { s.stream = id }))
	}
	for _, typ := range []string{"", "Order\nPlaced", "Order\x00Placed", "Order\xffPlaced", "$>", `with "quotes"`} {
		seeds = append(seeds, with(func(s *fuzzSeed) { s.typ = typ }))
	}
	for _, data := range []string{`{"a":`, `hello`, `{"a":1}{"b":2}`, `{"a":1,}`, `{'a':1}`, "{\"a\":\"\xff\"}",
		`{"a":"x\u0000y"}`, `{"a":"x\ud83cy"}`, `{"a":"\ud83c\udf89"}`, "{\n  \"spaced\" :  [ 1 , 2 ]\n}", `{"b":2,"a":1}`,
		`{"a":1,"a":2}`, `{"n":1e1000000}`, `{"n":1e-20000}`, `[1e131071,1e131071,1e131071]`, `-0.0`, `null`, ``,
		"[" + strings.Repeat("[", 64) + strings.Repeat("]", 64) + "]"} {
		seeds = append(seeds, with(func(s *fuzzSeed) { s.data = data }))
	}
	seeds = append(seeds,
		with(func(s *fuzzSeed) { s.correlation = "a\x00b" }),
		with(func(s *fuzzSeed) { s.correlation = "a\xffb" }),
		with(func(s *fuzzSeed) { s.correlation = "order-42" }),
		with(func(s *fuzzSeed) { s.key, s.value = "", "v" }),
		with(func(s *fuzzSeed) { s.key, s.value = "k", "a\x00b" }),
		with(func(s *fuzzSeed) { s.key, s.value = "<html>&amp;", `"quoted" \ </script>` }),
		with(func(s *fuzzSeed) { s.key, s.value = "ключ", "значение 🎉" }),
		with(func(s *fuzzSeed) { s.schema = -1 }),
		with(func(s *fuzzSeed) { s.schema = 3 }),
	)
	return seeds
}
