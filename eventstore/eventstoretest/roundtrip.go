package eventstoretest

import (
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testRoundTrip(t *testing.T) {
	t.Run("Metadata", func(t *testing.T) {
		st := s.store(t)
		full := eventstore.Metadata{
			CorrelationID: "order-42",
			CausationID:   "0192f0c8-7a1e-7c3e-9b2a-2f1d7e6a5b4c",
			SchemaVersion: 3,
			Values: map[string]string{
				"tenant":              "acme",
				"ключ":                "значение 🎉",
				`quote"key`:           `"quoted" 'single' \backslash`,
				"json-ish":            `{"not":"parsed"}`,
				"white space\tkey":    "line1\nline2\r\n",
				"empty":               "",
				"<html>&amp;":         "</script>",
				"percent%_underscore": "%s %d",
			},
		}
		cases := []eventstore.Metadata{
			full,
			{}, // nothing
			{CorrelationID: "only-correlation"},
			{CausationID: "only-causation"},
			{SchemaVersion: 2},
			{Values: map[string]string{"k": "v"}},
		}
		var evs []eventstore.Event
		for _, md := range cases {
			e := event("Meta", `{}`)
			e.Metadata = md
			evs = append(evs, e)
		}
		appendOK(t, st, "meta-1", eventstore.NoStream, evs...)
		got := readStream(t, st, "meta-1", eventstore.ReadStreamOptions{})
		equal(t, len(evs), len(got), "events")
		for i := range got {
			requireSameEvent(t, evs[i], got[i])
		}
		equal(t, true, got[1].Metadata.IsZero(), "empty metadata reads back empty: %+v", got[1].Metadata)
		// ReadAll and Subscribe carry the same metadata.
		all := readAll(t, st, eventstore.ReadAllOptions{})
		for i := range all {
			requireSameEvent(t, evs[i], all[i])
		}
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		i := 0
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			noErr(t, err, "Subscribe")
			requireSameEvent(t, evs[i], e)
			i++
			if i == len(evs) {
				break
			}
		}
	})

	// Payloads read back byte for byte: key order, white space, duplicate
	// keys and the spelling of numbers as written, and so the size.
	t.Run("Payload", func(t *testing.T) {
		st := s.store(t)
		payloads := []string{
			`{"b":2,"a":1}`,
			"{\n  \"spaced\" :  [ 1 , 2 ]\n}",
			`{"s":"ünïcödé 🎉 \"quoted\" \\ back\nslash","e":"\u00e9\u4e2d"}`,
			`{"n":[0,-1,2.5,-3e2,1e-7,12345678901234],"t":true,"f":false,"z":null}`,
			`{"text":"\\u0000 is text, not NUL","pair":"\ud83c\udf89","bmp":"\u00e9\u4e2d"}`,
			`{"nested":{"deep":{"deeper":[{"x":[]},{}]}}}`,
			`[1,"two",{"three":3}]`,
			`"a JSON string"`,
			`42`,
			`null`,
			`{}`,
			``, // empty payload
			`{"a":1,"a":2}`,
			`  {"padded" : true}  `,
			`{"n":-0.0,"m":1.50,"e":1E+2}`,
			`{"big":123456789012345678901234567890123456789}`,
			// Numbers far beyond float64 and PostgreSQL's numeric: stored
			// as written, read back at the size written.
			`{"n":1e1000000}`,
			`{"n":1e-20000}`,
			`[1e131071,1e131071,1e131071,-1e-16383,0e-16000]`,
		}
		var evs []eventstore.Event
		for _, p := range payloads {
			evs = append(evs, event("Payload", p))
		}
		appendOK(t, st, "payload-1", eventstore.NoStream, evs...)
		got := readStream(t, st, "payload-1", eventstore.ReadStreamOptions{})
		equal(t, len(evs), len(got), "events")
		for i := range got {
			requireSameEvent(t, evs[i], got[i])
		}
		nilData := eventstore.Event{ID: eventstore.NewEventID(), Type: "NoPayload"}
		appendOK(t, st, "payload-2", eventstore.NoStream, nilData)
		requireSameEvent(t, nilData, readStream(t, st, "payload-2", eventstore.ReadStreamOptions{})[0])
	})

	t.Run("RecordedAt", func(t *testing.T) {
		st := s.store(t)
		// Generous bounds: clocks of a database server and this process may
		// differ, and no test here asserts how long anything takes.
		before := time.Now().Add(-time.Hour)
		appendOK(t, st, "time-1", eventstore.NoStream, numbered("T", 1, 3)...)
		appendOK(t, st, "time-2", eventstore.NoStream, numbered("T", 1, 2)...)
		after := time.Now().Add(time.Hour)
		for _, e := range readAll(t, st, eventstore.ReadAllOptions{}) {
			isTrue(t, !e.RecordedAt.IsZero(), "RecordedAt of %s/%d is zero", e.StreamID, e.Version)
			isTrue(t, e.RecordedAt.After(before) && e.RecordedAt.Before(after),
				"RecordedAt %v of %s/%d is not around now (%v)", e.RecordedAt, e.StreamID, e.Version, time.Now())
		}
	})

	t.Run("Types", func(t *testing.T) {
		st := s.store(t)
		types := []string{"OrderPlaced", "order.placed.v2", "Ünïcödé Typ 🎉", `with "quotes"`, "a"}
		var evs []eventstore.Event
		for _, typ := range types {
			evs = append(evs, event(typ, `{}`))
		}
		appendOK(t, st, "types-1", eventstore.NoStream, evs...)
		got := readStream(t, st, "types-1", eventstore.ReadStreamOptions{})
		for i := range got {
			requireSameEvent(t, evs[i], got[i])
		}
	})
}
