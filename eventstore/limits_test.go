package eventstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

func TestLimitsWithDefaults(t *testing.T) {
	want := eventstore.Limits{
		MaxStreamIDLength: eventstore.DefaultMaxStreamIDLength,
		MaxTypeLength:     eventstore.DefaultMaxTypeLength,
		MaxEventSize:      eventstore.DefaultMaxEventSize,
		MaxAppendEvents:   eventstore.DefaultMaxAppendEvents,
	}
	if got := (eventstore.Limits{}).WithDefaults(); got != want {
		t.Errorf("zero limits with defaults = %+v, want %+v", got, want)
	}
	if got := (eventstore.Limits{MaxStreamIDLength: -3}).WithDefaults(); got != want {
		t.Errorf("negative limits with defaults = %+v, want %+v", got, want)
	}
	custom := eventstore.Limits{MaxStreamIDLength: 10, MaxTypeLength: 5, MaxEventSize: 100, MaxAppendEvents: 2}
	if got := custom.WithDefaults(); got != custom {
		t.Errorf("set limits changed: %+v", got)
	}
}

func TestLimitsCheckAppend(t *testing.T) {
	l := eventstore.Limits{MaxStreamIDLength: 10, MaxTypeLength: 5, MaxEventSize: 20, MaxAppendEvents: 2}
	ok := eventstore.Event{Type: "A", Data: []byte(`{}`)}
	withID := func(e eventstore.Event) eventstore.Event { e.ID = eventstore.NewEventID(); return e }
	dup := withID(ok)
	cases := []struct {
		name     string
		stream   string
		events   []eventstore.Event
		sentinel error
		index    int
	}{
		{"StreamAtLimit", strings.Repeat("s", 10), []eventstore.Event{ok}, nil, 0},
		{"StreamTooLong", strings.Repeat("s", 11), []eventstore.Event{ok}, eventstore.ErrInvalidStreamID, -1},
		{"StreamEmpty", "", []eventstore.Event{ok}, eventstore.ErrInvalidStreamID, -1},
		{"StreamControl", "a\u0007b", []eventstore.Event{ok}, eventstore.ErrInvalidStreamID, -1},
		{"NoEvents", "s", nil, eventstore.ErrEmptyAppend, -1},
		{"TooManyEvents", "s", []eventstore.Event{ok, ok, ok}, eventstore.ErrEventTooLarge, -1},
		{"TypeAtLimit", "s", []eventstore.Event{{Type: "ABCDE"}}, nil, 0},
		{"TypeTooLong", "s", []eventstore.Event{ok, {Type: "ABCDEF"}}, eventstore.ErrInvalidEvent, 1},
		{"EventAtLimit", "s", []eventstore.Event{{Type: "A", Data: []byte(`"` + strings.Repeat("x", 18) + `"`)}}, nil, 0},
		{"EventTooLarge", "s", []eventstore.Event{{Type: "A", Data: []byte(`"` + strings.Repeat("x", 19) + `"`)}}, eventstore.ErrEventTooLarge, 0},
		{"MetadataCounts", "s", []eventstore.Event{{Type: "A", Data: []byte(`{}`), Metadata: eventstore.Metadata{CorrelationID: strings.Repeat("c", 19)}}}, eventstore.ErrEventTooLarge, 0},
		{"EmptyPayload", "s", []eventstore.Event{{Type: "A"}}, nil, 0},
		{"NotJSON", "s", []eventstore.Event{{Type: "A", Data: []byte(`{`)}}, eventstore.ErrInvalidEvent, 0},
		{"InvalidUTF8", "s", []eventstore.Event{{Type: "A", Data: []byte("\"\xff\"")}}, eventstore.ErrInvalidEvent, 0},
		{"NULEscape", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\u0000"`)}}, eventstore.ErrInvalidEvent, 0},
		{"EscapedBackslashBeforeU0000", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\\u0000"`)}}, nil, 0},
		{"SurrogatePair", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\ud83c\udf89"`)}}, nil, 0},
		{"LoneHighSurrogate", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\ud83c"`)}}, eventstore.ErrInvalidEvent, 0},
		{"HighSurrogateThenText", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\ud83cabcdef"`)}}, eventstore.ErrInvalidEvent, 0},
		{"HighSurrogateThenBMP", "s", []eventstore.Event{{Type: "A", Data: []byte(`"\ud83c\u0041"`)}}, eventstore.ErrInvalidEvent, 0},
		{"LoneLowSurrogate", "s", []eventstore.Event{{Type: "A", Data: []byte(`"x\uDF89"`)}}, eventstore.ErrInvalidEvent, 0},
		{"NULEscapeAfterOthers", "s", []eventstore.Event{{Type: "A", Data: []byte(`["\\\"\n","\u0000"]`)}}, eventstore.ErrInvalidEvent, 0},
		{"EscapesWithoutNUL", "s", []eventstore.Event{{Type: "A", Data: []byte(`["\\\"\n\u00e9"]`)}}, nil, 0},
		{"NULInMetadata", "s", []eventstore.Event{{Type: "A", Metadata: eventstore.Metadata{}.With("k", "\x00")}}, eventstore.ErrInvalidEvent, 0},
		{"ZeroIDsTwice", "s", []eventstore.Event{ok, ok}, nil, 0},
		{"DuplicateIDs", "s", []eventstore.Event{dup, dup}, eventstore.ErrDuplicateEventID, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := l.CheckAppend(c.stream, c.events)
			if c.sentinel == nil {
				if err != nil {
					t.Fatalf("CheckAppend: %v", err)
				}
				return
			}
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("CheckAppend = %v, want %v", err, c.sentinel)
			}
			ie, ok := errors.AsType[*eventstore.InvalidAppendError](err)
			if !ok || ie.Stream != c.stream || ie.Index != c.index || ie.Err != c.sentinel {
				t.Fatalf("CheckAppend = %#v, want an InvalidAppendError for stream %q, index %d", err, c.stream, c.index)
			}
		})
	}
}

func TestInvalidAppendErrorMessage(t *testing.T) {
	err := eventstore.Limits{}.CheckAppend("order-1", []eventstore.Event{{Type: "A"}, {Type: ""}})
	msg := err.Error()
	for _, part := range []string{"invalid event", `"order-1"`, "event 1", "empty"} {
		if !strings.Contains(msg, part) {
			t.Errorf("%q does not mention %q", msg, part)
		}
	}
}

func TestLimitsCheckFilter(t *testing.T) {
	l := eventstore.Limits{MaxStreamIDLength: 4, MaxTypeLength: 3}
	for _, f := range []eventstore.Filter{
		{},
		{StreamPrefixes: []string{"", "abcd", "é"}},
		{EventTypes: []string{"ABC", "$>"}},
	} {
		if err := l.CheckFilter("subscribe", f); err != nil {
			t.Errorf("CheckFilter(%q): %v", f, err)
		}
	}
	for _, f := range []eventstore.Filter{
		{StreamPrefixes: []string{"abcde"}},
		{StreamPrefixes: []string{"a\x00"}},
		{StreamPrefixes: []string{"\xff"}},
		{StreamPrefixes: []string{"a\u0085"}},
		{EventTypes: []string{""}},
		{EventTypes: []string{"ABCD"}},
		{EventTypes: []string{"A\x00"}},
		{EventTypes: []string{"\xfe"}},
	} {
		err := l.CheckFilter("subscribe", f)
		var ae *eventstore.ArgumentError
		if !errors.As(err, &ae) || !errors.Is(err, eventstore.ErrInvalidArgument) || ae.Op != "subscribe" {
			t.Errorf("CheckFilter(%q) = %v, want an *ArgumentError for subscribe", f, err)
		}
	}
	if err := l.CheckPrefix("streams", "ab"); err != nil {
		t.Errorf("CheckPrefix(ab): %v", err)
	}
	if err := l.CheckPrefix("streams", "a\x00"); !errors.Is(err, eventstore.ErrInvalidArgument) {
		t.Errorf("CheckPrefix(a\\x00) = %v", err)
	}
}

// TestDuplicateIDsAtEverySize: an append that carries an event ID twice is
// refused at the second one, naming the first, whether the check compares
// the IDs one by one (small appends) or through a map (big ones).
func TestDuplicateIDsAtEverySize(t *testing.T) {
	for _, c := range []struct{ n, first, second int }{{2, 0, 1}, {12, 3, 9}, {16, 0, 15}, {17, 16, 5}, {40, 5, 33}} {
		events := make([]eventstore.Event, c.n)
		for i := range events {
			events[i] = eventstore.Event{ID: eventstore.NewEventID(), Type: "A"}
		}
		if i := c.n / 2; c.n > 2 {
			events[i].ID = uuid.Nil // no ID yet: never a duplicate
			events = append(events, eventstore.Event{Type: "A"})
		}
		if err := (eventstore.Limits{}).CheckAppend("s", events); err != nil {
			t.Fatalf("%d events with distinct IDs: %v", len(events), err)
		}
		events[c.second].ID = events[c.first].ID
		at, other := max(c.first, c.second), min(c.first, c.second)
		err := (eventstore.Limits{}).CheckAppend("s", events)
		ie, ok := errors.AsType[*eventstore.InvalidAppendError](err)
		if !ok || ie.Err != eventstore.ErrDuplicateEventID || ie.Index != at || !strings.Contains(ie.Reason, fmt.Sprintf("index %d", other)) {
			t.Fatalf("%d events, ID at %d and %d: %v; want a duplicate at %d naming %d", len(events), c.first, c.second, err, at, other)
		}
	}
}
