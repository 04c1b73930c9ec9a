package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

func TestImport(t *testing.T) {
	s, pool, _ := newStore(t)
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
	s, pool, _ := newStore(t)
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
