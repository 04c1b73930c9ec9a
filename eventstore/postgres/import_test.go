package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

func TestImport(t *testing.T) {
	s, pool, _ := newPatientStore(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "existing", eventstore.NoStream, eventstore.NewEvent("Old", nil), eventstore.NewEvent("Old", nil)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	var batch []eventstore.RecordedEvent
	for i := range 3000 {
		stream := fmt.Sprintf("imported-%d", i%3)
		batch = append(batch, eventstore.RecordedEvent{StreamID: stream, Version: uint64(i/3 + 1), RecordedAt: at,
			Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "Imported", Data: fmt.Appendf(nil, `{"i":%d}`, i),
				Metadata: eventstore.Metadata{CorrelationID: "legacy"}}})
	}
	batch = append(batch, eventstore.RecordedEvent{StreamID: "existing", Version: 3, Event: eventstore.NewEvent("New", nil)})
	res, err := s.Import(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != len(batch) || res.Streams["imported-0"] != 1000 || res.Streams["existing"] != 3 {
		t.Fatalf("import result: %d events, %v", res.Events, res.Streams)
	}
	for i := range 3 {
		requireStreamInGlobalOrder(t, s, fmt.Sprintf("imported-%d", i), 1000)
	}
	requireStreamInGlobalOrder(t, s, "existing", 3)
	// Positions follow the order given, and the data and times are kept.
	i := 0
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.StreamID == "existing" && e.Version < 3 {
			continue
		}
		if e.ID != batch[i].ID {
			t.Fatalf("event %d of the log is %s v%d, want the import's event %d", i, e.StreamID, e.Version, i)
		}
		if i < 3000 && (!e.RecordedAt.Equal(at) || e.Metadata.CorrelationID != "legacy") {
			t.Fatalf("event %d: recorded at %v, metadata %+v", i, e.RecordedAt, e.Metadata)
		}
		i++
	}
	if i != len(batch) {
		t.Fatalf("ReadAll returned %d imported events, want %d", i, len(batch))
	}
	// Appends continue after the import.
	if _, err := s.Append(ctx, "imported-1", eventstore.Exact(1000), eventstore.NewEvent("After", nil)); err != nil {
		t.Fatal(err)
	}

	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	refusals := []struct {
		name  string
		batch []eventstore.RecordedEvent
		check func(error) bool
	}{
		{"Gap", []eventstore.RecordedEvent{
			{StreamID: "fresh", Version: 1, Event: eventstore.NewEvent("E", nil)},
			{StreamID: "fresh", Version: 3, Event: eventstore.NewEvent("E", nil)},
		}, func(err error) bool { return errors.Is(err, eventstore.ErrConcurrencyConflict) }},
		{"NotAfterCurrent", []eventstore.RecordedEvent{
			{StreamID: "fresh", Version: 1, Event: eventstore.NewEvent("E", nil)},
			{StreamID: "existing", Version: 3, Event: eventstore.NewEvent("E", nil)},
		}, func(err error) bool {
			var ce *eventstore.ConflictError
			return errors.As(err, &ce) && ce.Stream == "existing" && ce.Actual == 3
		}},
		{"StoredID", []eventstore.RecordedEvent{
			{StreamID: "fresh", Version: 1, Event: eventstore.NewEvent("E", nil)},
			{StreamID: "fresh", Version: 2, Event: batch[5].Event},
		}, func(err error) bool {
			var ce *eventstore.ConflictError
			return errors.As(err, &ce) && ce.EventID == batch[5].ID && errors.Is(err, eventstore.ErrDuplicateEventID)
		}},
		{"BadEvent", []eventstore.RecordedEvent{
			{StreamID: "fresh", Version: 1, Event: eventstore.NewEvent("E", []byte(`{nope`))},
		}, func(err error) bool { return errors.Is(err, eventstore.ErrInvalidEvent) }},
	}
	for _, c := range refusals {
		_, err := s.Import(ctx, c.batch)
		if !c.check(err) {
			t.Errorf("%s: %v", c.name, err)
		}
		if n := count(); n != before {
			t.Fatalf("%s: %d events after a refused import, want %d", c.name, n, before)
		}
	}
}

// TestImportAfterReanchor: an import into new streams only, on a store
// whose epoch offset was raised, stamps its events with the offset like an
// append does, so they sort after the restored log (and a subscriber that
// had passed the restored events gets them).
func TestImportAfterReanchor(t *testing.T) {
	s, pool, _ := newPatientStore(t)
	ctx := t.Context()
	res, err := s.Append(ctx, "restored", eventstore.NoStream, eventstore.NewEvent("Old", nil))
	if err != nil {
		t.Fatal(err)
	}
	const ahead = 1_000_000_000
	if _, err := pool.Exec(ctx, `UPDATE events SET transaction_id = transaction_id + $1`, ahead); err != nil {
		t.Fatal(err)
	}
	checkpoint := res.Positions[0]
	checkpoint.Commit += ahead
	if _, after, err := s.Reanchor(ctx); err != nil || after == 0 {
		t.Fatalf("Reanchor: offset %d, %v", after, err)
	}
	batch := []eventstore.RecordedEvent{
		{StreamID: "fresh", Version: 1, Event: eventstore.NewEvent("Imported", nil)},
		{StreamID: "fresh", Version: 2, Event: eventstore.NewEvent("Imported", nil)},
	}
	if _, err := s.Import(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var got []eventstore.RecordedEvent
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{From: checkpoint}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 2 || got[0].ID != batch[0].ID || got[1].ID != batch[1].ID {
		t.Fatalf("after the restored event: %d events, want the two imported ones", len(got))
	}
}

// Import checks events while their rows stream into COPY: an event refused
// deep in the batch, after the server has taken thousands of rows, stops
// the COPY with that event's typed error, and nothing of the batch is
// written. Events without payload or metadata are stored as NULL, and zero
// IDs get one.
func TestImportRefusesMidBatch(t *testing.T) {
	s, pool, _ := newPatientStore(t)
	ctx := t.Context()
	batch := func() []eventstore.RecordedEvent {
		var b []eventstore.RecordedEvent
		for i := range 5000 {
			b = append(b, eventstore.RecordedEvent{StreamID: fmt.Sprintf("s-%d", i%7), Version: uint64(i/7 + 1),
				Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "Imported", Data: fmt.Appendf(nil, `{"i":%d,"pad":"%0100d"}`, i, i),
					Metadata: eventstore.Metadata{CorrelationID: "legacy", Values: map[string]string{"i": fmt.Sprint(i)}}}})
		}
		return b
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refusals := []struct {
		name  string
		spoil func([]eventstore.RecordedEvent)
		want  error
	}{
		{"BadPayload", func(b []eventstore.RecordedEvent) { b[4321].Data = []byte(`{"nope"`) }, eventstore.ErrInvalidEvent},
		{"BadType", func(b []eventstore.RecordedEvent) { b[4321].Type = "" }, eventstore.ErrInvalidEvent},
		{"IDTwice", func(b []eventstore.RecordedEvent) { b[4321].ID = b[17].ID }, eventstore.ErrDuplicateEventID},
	}
	for _, c := range refusals {
		b := batch()
		c.spoil(b)
		_, err := s.Import(ctx, b)
		var inv *eventstore.InvalidAppendError
		if !errors.As(err, &inv) || !errors.Is(err, c.want) || inv.Index != 4321 || inv.Stream != b[4321].StreamID {
			t.Fatalf("%s: got %v, want an *InvalidAppendError at index 4321 that is %v", c.name, err, c.want)
		}
		if n := count(); n != 0 {
			t.Fatalf("%s: %d events stored after a refused import", c.name, n)
		}
	}
	// The same batch, unspoiled, goes in whole; then bare events.
	b := batch()
	if res, err := s.Import(ctx, b); err != nil || res.Events != len(b) {
		t.Fatalf("import: %+v, %v", res, err)
	}
	bare := []eventstore.RecordedEvent{{StreamID: "bare", Version: 1, Event: eventstore.Event{Type: "Bare"}}}
	if _, err := s.Import(ctx, bare); err != nil {
		t.Fatal(err)
	}
	var nulls int
	var id [16]byte
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE data IS NULL AND metadata IS NULL), max(event_id::text)::uuid FROM events WHERE stream_id = 'bare'`).Scan(&nulls, &id); err != nil {
		t.Fatal(err)
	}
	if nulls != 1 || id == ([16]byte{}) {
		t.Fatalf("bare event: %d stored with NULL payload and metadata, ID %x", nulls, id)
	}
	requireStreamInGlobalOrder(t, s, "s-3", 5000/7)
	i := 0
	for e, err := range s.ReadStream(ctx, "s-3", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		w := b[3+7*i]
		if e.ID != w.ID || string(e.Data) != string(w.Data) || e.Metadata.Values["i"] != w.Metadata.Values["i"] {
			t.Fatalf("s-3 event %d: %s %s %v, want %s %s %v", i, e.ID, e.Data, e.Metadata, w.ID, w.Data, w.Metadata)
		}
		i++
	}
}

// newPatientStore is newStore whose ReadAll waits up to 30 s, not 2, for a
// transaction holding the horizon: the import tests read the whole log
// back and count it, and a transaction of another package's test (they
// share the server) may hold the horizon for longer than the default wait.
func newPatientStore(t *testing.T) (*espg.Store, *pgxpool.Pool, string) {
	t.Helper()
	return newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, HorizonWait: 30 * time.Second})
}
