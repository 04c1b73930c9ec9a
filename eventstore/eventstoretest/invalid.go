package eventstoretest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testInvalidInput(t *testing.T) {
	l := s.opts.Limits
	good := func() eventstore.Event { return event("Good", `{"ok":true}`) }
	withType := func(typ string) func() []eventstore.Event {
		return func() []eventstore.Event {
			e := good()
			e.Type = typ
			return []eventstore.Event{good(), e}
		}
	}
	withData := func(data string) func() []eventstore.Event {
		return func() []eventstore.Event {
			e := good()
			e.Data = []byte(data)
			return []eventstore.Event{good(), e}
		}
	}
	withMetadata := func(md eventstore.Metadata) func() []eventstore.Event {
		return func() []eventstore.Event {
			e := good()
			e.Metadata = md
			return []eventstore.Event{good(), e}
		}
	}
	one := func() []eventstore.Event { return []eventstore.Event{good()} }
	jsonString := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` } // n bytes

	// Stream ID problems: the append names a bad stream and carries good
	// events.
	streamCases := []struct {
		name   string
		stream string
	}{
		{"Empty", ""},
		{"TooLong", strings.Repeat("s", l.MaxStreamIDLength+1)},
		{"TooLongInBytes", strings.Repeat("é", l.MaxStreamIDLength/2+1)},
		{"Newline", "order\n1"},
		{"NUL", "order\x001"},
		{"Tab", "order\t1"},
		{"DEL", "order\x7f1"},
		{"C1Control", "order\u00851"},
		{"InvalidUTF8", "order\xff1"},
		{"TruncatedUTF8", "order-\xe2\x82"},
	}
	// Refused appends write nothing, so the cases of a table share a store
	// and check, after each, that the log has not changed.
	t.Run("StreamID", func(t *testing.T) {
		st := s.store(t)
		appendOK(t, st, "bad-existing", eventstore.NoStream, good())
		for _, c := range streamCases {
			t.Run(c.name, func(t *testing.T) {
				for _, expected := range []eventstore.ExpectedVersion{eventstore.Any, eventstore.NoStream} {
					_, err := st.Append(t.Context(), c.stream, expected, one()...)
					requireInvalid(t, err, eventstore.ErrInvalidStreamID, c.stream, -1)
				}
				equal(t, 1, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
			})
		}
	})

	eventCases := []struct {
		name     string
		events   func() []eventstore.Event
		sentinel error
		index    int
	}{
		{"EmptyAppend", func() []eventstore.Event { return nil }, eventstore.ErrEmptyAppend, -1},
		{"EmptySlice", func() []eventstore.Event { return []eventstore.Event{} }, eventstore.ErrEmptyAppend, -1},
		{"TooManyEvents", func() []eventstore.Event {
			evs := make([]eventstore.Event, l.MaxAppendEvents+1)
			for i := range evs {
				evs[i] = good()
			}
			return evs
		}, eventstore.ErrEventTooLarge, -1},

		{"Type/Empty", withType(""), eventstore.ErrInvalidEvent, 1},
		{"Type/TooLong", withType(strings.Repeat("T", l.MaxTypeLength+1)), eventstore.ErrInvalidEvent, 1},
		{"Type/Newline", withType("Order\nPlaced"), eventstore.ErrInvalidEvent, 1},
		{"Type/NUL", withType("Order\x00Placed"), eventstore.ErrInvalidEvent, 1},
		{"Type/InvalidUTF8", withType("Order\xffPlaced"), eventstore.ErrInvalidEvent, 1},

		{"Payload/Truncated", withData(`{"a":`), eventstore.ErrInvalidEvent, 1},
		{"Payload/Text", withData(`hello`), eventstore.ErrInvalidEvent, 1},
		{"Payload/TwoDocuments", withData(`{"a":1}{"b":2}`), eventstore.ErrInvalidEvent, 1},
		{"Payload/TrailingComma", withData(`{"a":1,}`), eventstore.ErrInvalidEvent, 1},
		{"Payload/SingleQuotes", withData(`{'a':1}`), eventstore.ErrInvalidEvent, 1},
		{"Payload/InvalidUTF8", withData("{\"a\":\"\xff\"}"), eventstore.ErrInvalidEvent, 1},
		{"Payload/NULEscape", withData(`{"a":"x\u0000y"}`), eventstore.ErrInvalidEvent, 1},
		{"Payload/LoneSurrogate", withData(`{"a":"x\ud83cy"}`), eventstore.ErrInvalidEvent, 1},
		{"Payload/TooLarge", withData(jsonString(l.MaxEventSize + 1)), eventstore.ErrEventTooLarge, 1},
		{"Metadata/TooLarge", withMetadata(eventstore.Metadata{}.With("big", strings.Repeat("m", l.MaxEventSize))), eventstore.ErrEventTooLarge, 1},

		{"Metadata/NULInCorrelationID", withMetadata(eventstore.Metadata{CorrelationID: "a\x00b"}), eventstore.ErrInvalidEvent, 1},
		{"Metadata/NULInCausationID", withMetadata(eventstore.Metadata{CausationID: "a\x00b"}), eventstore.ErrInvalidEvent, 1},
		{"Metadata/NULInKey", withMetadata(eventstore.Metadata{}.With("a\x00b", "v")), eventstore.ErrInvalidEvent, 1},
		{"Metadata/NULInValue", withMetadata(eventstore.Metadata{}.With("k", "a\x00b")), eventstore.ErrInvalidEvent, 1},
		{"Metadata/InvalidUTF8Value", withMetadata(eventstore.Metadata{}.With("k", "a\xffb")), eventstore.ErrInvalidEvent, 1},
		{"Metadata/InvalidUTF8CorrelationID", withMetadata(eventstore.Metadata{CorrelationID: "a\xffb"}), eventstore.ErrInvalidEvent, 1},
		{"Metadata/EmptyKey", withMetadata(eventstore.Metadata{}.With("", "v")), eventstore.ErrInvalidEvent, 1},
		{"Metadata/NegativeSchemaVersion", withMetadata(eventstore.Metadata{SchemaVersion: -1}), eventstore.ErrInvalidEvent, 1},

		{"DuplicateIDs", func() []eventstore.Event {
			a, b := good(), good()
			return []eventstore.Event{a, b, a}
		}, eventstore.ErrDuplicateEventID, 2},
	}
	t.Run("Event", func(t *testing.T) {
		st := s.store(t)
		seed := good()
		appendOK(t, st, "bad-existing", eventstore.NoStream, seed)
		probes := 0
		for _, c := range eventCases {
			t.Run(c.name, func(t *testing.T) {
				for _, target := range []struct {
					stream   string
					expected eventstore.ExpectedVersion
				}{
					{"bad-new", eventstore.NoStream},
					{"bad-new", eventstore.Any},
					{"bad-existing", eventstore.Exact(1)},
					{"bad-existing", eventstore.StreamExists},
					// Bad input is refused as such even when the expected
					// version would conflict too.
					{"bad-existing", eventstore.Exact(7)},
				} {
					before := len(readAll(t, st, eventstore.ReadAllOptions{}))
					evs := c.events()
					_, err := st.Append(t.Context(), target.stream, target.expected, evs...)
					requireInvalid(t, err, c.sentinel, target.stream, c.index)
					equal(t, before, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log after a refused append")
					// The good events of a refused append were not stored:
					// their IDs are still free.
					if c.index > 0 {
						probes++
						appendOK(t, st, fmt.Sprintf("probe-%d", probes), eventstore.NoStream, evs[0])
					}
				}
				requireStreamMissing(t, st, "bad-new")
				got := readStream(t, st, "bad-existing", eventstore.ReadStreamOptions{})
				equal(t, 1, len(got), "events in bad-existing")
				requireSameEvent(t, seed, got[0])
			})
		}
	})

	// Unusable arguments: a typed error, nothing written or read.
	t.Run("Arguments", func(t *testing.T) {
		st := s.store(t)
		appendOK(t, st, "args", eventstore.NoStream, good())
		_, err := st.Append(t.Context(), "args", nil, good())
		var ae *eventstore.ArgumentError
		if !errors.As(err, &ae) || !errors.Is(err, eventstore.ErrInvalidArgument) {
			t.Fatalf("append with a nil expected version: %v (%T), want an *eventstore.ArgumentError", err, err)
		}
		for _, read := range []struct {
			name string
			seq  func() func(func(eventstore.RecordedEvent, error) bool)
		}{
			{"ReadStream", func() func(func(eventstore.RecordedEvent, error) bool) {
				return st.ReadStream(t.Context(), "args", eventstore.ReadStreamOptions{Limit: -1})
			}},
			{"ReadStreamBackwards", func() func(func(eventstore.RecordedEvent, error) bool) {
				return st.ReadStream(t.Context(), "args", eventstore.ReadStreamOptions{Limit: -5, Direction: eventstore.Backwards})
			}},
			{"ReadAll", func() func(func(eventstore.RecordedEvent, error) bool) {
				return st.ReadAll(t.Context(), eventstore.ReadAllOptions{Limit: -1})
			}},
		} {
			n := 0
			var got error
			for _, err := range read.seq() {
				if err != nil {
					got = err
					break
				}
				n++
			}
			if n != 0 || !errors.As(got, &ae) || !errors.Is(got, eventstore.ErrInvalidArgument) {
				t.Fatalf("%s with a negative limit: %d events, error %v (%T); want none and an *eventstore.ArgumentError", read.name, n, got, got)
			}
		}
		got := readStream(t, st, "args", eventstore.ReadStreamOptions{})
		equal(t, 1, len(got), "events in args")
	})

	// A filter that could not name a stream or a type is refused as an
	// argument, on every backend: not passed to a database that fails on
	// it, and not silently matching nothing.
	t.Run("Filter", func(t *testing.T) {
		st := s.store(t)
		appendOK(t, st, "filter", eventstore.NoStream, good())
		for _, c := range []struct {
			name   string
			filter eventstore.Filter
		}{
			{"PrefixNUL", eventstore.Filter{StreamPrefixes: []string{"ok", "a\x00b"}}},
			{"PrefixInvalidUTF8", eventstore.Filter{StreamPrefixes: []string{"a\xffb"}}},
			{"PrefixControl", eventstore.Filter{StreamPrefixes: []string{"a\nb"}}},
			{"PrefixTooLong", eventstore.Filter{StreamPrefixes: []string{strings.Repeat("p", l.MaxStreamIDLength+1)}}},
			{"TypeNUL", eventstore.Filter{EventTypes: []string{"Good", "A\x00"}}},
			{"TypeInvalidUTF8", eventstore.Filter{EventTypes: []string{"A\xff"}}},
			{"TypeEmpty", eventstore.Filter{EventTypes: []string{""}}},
			{"TypeTooLong", eventstore.Filter{EventTypes: []string{strings.Repeat("T", l.MaxTypeLength+1)}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx, cancel := s.waitCtx(t)
				defer cancel()
				n := 0
				var got error
				for _, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: c.filter}) {
					if err != nil {
						got = err
						break
					}
					n++
				}
				var ae *eventstore.ArgumentError
				if n != 0 || !errors.As(got, &ae) || !errors.Is(got, eventstore.ErrInvalidArgument) {
					t.Fatalf("Subscribe with filter %q: %d events, error %v (%T); want none and an *eventstore.ArgumentError", c.filter, n, got, got)
				}
			})
		}
		// The empty prefix passes every stream.
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: eventstore.Filter{StreamPrefixes: []string{""}}}) {
			noErr(t, err, "Subscribe with the empty prefix")
			equal(t, "filter", e.StreamID, "the stream the empty prefix passes")
			break
		}
	})

	t.Run("AtTheLimits", func(t *testing.T) {
		st := s.store(t)
		stream := strings.Repeat("s", l.MaxStreamIDLength)
		e := event(strings.Repeat("T", l.MaxTypeLength), jsonString(l.MaxEventSize/2))
		appendOK(t, st, stream, eventstore.NoStream, e)
		got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
		equal(t, 1, len(got), "events")
		requireSameEvent(t, e, got[0])
	})
}
