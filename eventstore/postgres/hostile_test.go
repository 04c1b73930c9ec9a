package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// TestHostileInput: stream IDs, types and metadata made of SQL syntax,
// placeholders, unicode and 10 kB strings are stored and read back byte for
// byte, or refused with the typed error before anything is written.
func TestHostileInput(t *testing.T) {
	big := strings.Repeat(`'";\$1`, 2_400/6) + "é" // 2,402 bytes
	s, pool, _ := newStoreConfig(t, espg.Config{Limits: eventstore.Limits{MaxStreamIDLength: espg.MaxStreamIDLength, MaxTypeLength: 20_000}})
	ctx := t.Context()
	hostile := []string{
		`it's`, `"quoted"`, `a; DROP TABLE events; --`, `'); DELETE FROM streams; --`,
		`$1`, `$1::text`, `%s %d`, `\x00`, `back\slash`, `\\`, `*/ /*`, `E'\n'`,
		"日本語", "emoji 🎉👩‍👩‍👧", "rtl \u202e txt", "combining e\u0301", "zero\u200bwidth",
		"prefix_%", "LIKE_ %", big,
	}
	var want []eventstore.Event
	for i, h := range hostile {
		md := eventstore.Metadata{CorrelationID: h, CausationID: h, Values: map[string]string{h: h, "k": h}}
		data, _ := json.Marshal(map[string]string{"v": h})
		e := eventstore.Event{ID: eventstore.NewEventID(), Type: h, Data: data, Metadata: md}
		if _, err := s.Append(ctx, h, eventstore.NoStream, e); err != nil {
			t.Fatalf("append to stream #%d: %v", i, err)
		}
		want = append(want, e)
	}
	for i, h := range hostile {
		var got []eventstore.RecordedEvent
		for e, err := range s.ReadStream(ctx, h, eventstore.ReadStreamOptions{}) {
			if err != nil {
				t.Fatalf("read stream #%d: %v", i, err)
			}
			got = append(got, e)
		}
		if len(got) != 1 {
			t.Fatalf("stream #%d holds %d events", i, len(got))
		}
		e := got[0]
		if e.StreamID != h || e.Type != h || e.ID != want[i].ID {
			t.Fatalf("stream #%d: got stream %q type %q", i, e.StreamID, e.Type)
		}
		md := e.Metadata
		if md.CorrelationID != h || md.CausationID != h || md.Values[h] != h || md.Values["k"] != h || len(md.Values) != 2 {
			t.Fatalf("stream #%d: metadata %+v", i, md)
		}
		var v map[string]string
		if err := json.Unmarshal(e.Data, &v); err != nil || v["v"] != h {
			t.Fatalf("stream #%d: data %q (%v)", i, e.Data, err)
		}
	}
	// A prefix filter treats LIKE wildcards literally.
	streams, err := s.Streams(ctx, espg.StreamsOptions{Prefix: "prefix_%"})
	if err != nil || len(streams) != 1 || streams[0].ID != "prefix_%" {
		t.Fatalf("Streams(prefix_%%) = %+v, %v", streams, err)
	}
	n := 0
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for e, err := range s.Subscribe(sctx, eventstore.SubscribeOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"LIKE_"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.StreamID != "LIKE_ %" {
			t.Fatalf("filter LIKE_ delivered %q", e.StreamID)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatal("the filtered subscription delivered nothing")
	}
	all, err := s.Streams(ctx, espg.StreamsOptions{})
	if err != nil || len(all) != len(hostile) {
		t.Fatalf("Streams() = %d streams, %v; want %d", len(all), err, len(hostile))
	}

	// Refused before anything is written, with the typed error.
	var before int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		stream   string
		event    eventstore.Event
		sentinel error
	}{
		{"nul\x00byte", eventstore.NewEvent("T", nil), eventstore.ErrInvalidStreamID},
		{"bad\xffutf8", eventstore.NewEvent("T", nil), eventstore.ErrInvalidStreamID},
		{strings.Repeat("x", espg.MaxStreamIDLength+1), eventstore.NewEvent("T", nil), eventstore.ErrInvalidStreamID},
		{"ok", eventstore.NewEvent("T", []byte(`{"nul":"\u0000"}`)), eventstore.ErrInvalidEvent},
		{"ok", eventstore.NewEvent("T", []byte(`{'not json'}`)), eventstore.ErrInvalidEvent},
		{"ok", eventstore.Event{Type: "T", Metadata: eventstore.Metadata{CorrelationID: "a\x00b"}}, eventstore.ErrInvalidEvent},
		{"ok", eventstore.Event{Type: "T", Metadata: eventstore.Metadata{Values: map[string]string{"k": "\xff"}}}, eventstore.ErrInvalidEvent},
		{"ok", eventstore.NewEvent("ty\x00pe", nil), eventstore.ErrInvalidEvent},
	}
	for i, c := range refused {
		_, err := s.Append(ctx, c.stream, eventstore.Any, c.event)
		var inv *eventstore.InvalidAppendError
		if !errors.Is(err, c.sentinel) || !errors.As(err, &inv) {
			t.Errorf("refused #%d: %v, want %v", i, err, c.sentinel)
		}
	}
	var after int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&after); err != nil || after != before {
		t.Fatalf("events after refused appends: %d, want %d (%v)", after, before, err)
	}
}
