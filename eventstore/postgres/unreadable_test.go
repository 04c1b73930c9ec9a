package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

// readUntilError ranges over seq and returns the events before the first
// error, and that error.
func readUntilError(seq func(func(eventstore.RecordedEvent, error) bool), stopAfter int) ([]eventstore.RecordedEvent, error) {
	var got []eventstore.RecordedEvent
	for e, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, e)
		if stopAfter > 0 && len(got) == stopAfter {
			return got, nil
		}
	}
	return got, nil
}

// requireUnreadable checks that a read delivered exactly want (the events
// before the unreadable one) and then an *eventstore.UnreadableEventError
// naming bad.
func requireUnreadable(t *testing.T, what string, got []eventstore.RecordedEvent, err error, want []uuid.UUID, bad eventstore.RecordedEvent) {
	t.Helper()
	ids := make([]uuid.UUID, len(got))
	for i, e := range got {
		ids[i] = e.ID
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("%s delivered %v before the unreadable event, want %v", what, ids, want)
	}
	ue, ok := errors.AsType[*eventstore.UnreadableEventError](err)
	if !ok || !errors.Is(err, eventstore.ErrUnreadableEvent) {
		t.Fatalf("%s ended with %v (%T), want an *eventstore.UnreadableEventError", what, err, err)
	}
	if ue.EventID != bad.ID || ue.Stream != bad.StreamID || ue.Version != bad.Version || ue.Position != bad.Position || ue.Type != bad.Type || ue.Err == nil {
		t.Fatalf("%s: %+v, want it to name %s@%d %s at %v with the cause", what, ue, bad.StreamID, bad.Version, bad.ID, bad.Position)
	}
}

// badEvent inserts by hand, as version 2 of stream "s", an event whose
// metadata is JSON but not chronicle's (schema_version is a string): the
// client cannot decode it. Around it: s@1, other@1 before, s@3, other@2
// after, each in a transaction of its own.
func badEvent(t *testing.T, s *espg.Store, pool *pgxpool.Pool) (before, after []uuid.UUID, bad eventstore.RecordedEvent) {
	t.Helper()
	ctx := t.Context()
	add := func(stream string, v uint64) uuid.UUID {
		res, err := s.Append(ctx, stream, eventstore.Exact(v-1), eventstore.NewEvent("Good", []byte(`{"ok":true}`)))
		if err != nil {
			t.Fatal(err)
		}
		_ = res
		var id uuid.UUID
		if err := pool.QueryRow(ctx, `SELECT event_id FROM events WHERE stream_id = $1 AND version = $2`, stream, v).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before = []uuid.UUID{add("s", 1), add("other", 1)}
	bad = eventstore.RecordedEvent{Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "ByHand"}, StreamID: "s", Version: 2}
	if err := pool.QueryRow(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data, metadata)
		VALUES (pg_current_xact_id()::text::bigint, 's', 2, $1, 'ByHand', '{}', '{"schema_version": "two"}')
		RETURNING transaction_id, position`, bad.ID).Scan(&bad.Position.Commit, &bad.Position.Prepare); err != nil {
		t.Fatal(err)
	}
	after = []uuid.UUID{add("s", 3), add("other", 2)}
	return before, after, bad
}

// TestUnreadableEvent: a read that fails on one stored event (here metadata
// written by hand that does not decode) delivers every event before it and
// then an *eventstore.UnreadableEventError naming it — ReadStream both
// ways, ReadAll both ways, Subscribe — instead of failing the whole page;
// a subscriber resuming after its Position goes on.
func TestUnreadableEvent(t *testing.T) {
	s, pool, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, HorizonWait: 30 * time.Second})
	ctx := t.Context()
	before, after, bad := badEvent(t, s, pool)

	got, err := readUntilError(s.ReadStream(ctx, "s", eventstore.ReadStreamOptions{}), 0)
	requireUnreadable(t, "ReadStream", got, err, before[:1], bad)
	got, err = readUntilError(s.ReadStream(ctx, "s", eventstore.ReadStreamOptions{Direction: eventstore.Backwards}), 0)
	requireUnreadable(t, "ReadStream backwards", got, err, after[:1], bad)
	got, err = readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
	requireUnreadable(t, "ReadAll", got, err, before, bad)
	got, err = readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards}), 0)
	requireUnreadable(t, "ReadAll backwards", got, err, []uuid.UUID{after[1], after[0]}, bad)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err = readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{}), 0)
	requireUnreadable(t, "Subscribe", got, err, before, bad)
	// A filter that passes it names it too; one that does not goes past.
	got, err = readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{Filter: eventstore.Filter{EventTypes: []string{"ByHand"}}}), 0)
	requireUnreadable(t, "Subscribe filtered to its type", got, err, nil, bad)
	got, err = readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"other"}}}), 2)
	if err != nil || len(got) != 2 || got[0].ID != before[1] || got[1].ID != after[1] {
		t.Fatalf("Subscribe filtered past it: %v, %v", got, err)
	}
	// Skipped: resuming after its position delivers the rest.
	got, err = readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{From: bad.Position}), 2)
	if err != nil || len(got) != 2 || got[0].ID != after[0] || got[1].ID != after[1] {
		t.Fatalf("Subscribe after the unreadable event: %v, %v", got, err)
	}
	// Limits still count: a read that ends before the event never meets it.
	if got, err = readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{Limit: 2}), 0); err != nil || len(got) != 2 {
		t.Fatalf("ReadAll with a limit that stops before it: %v, %v", got, err)
	}
}

// TestUnreadablePayloadInAnOldSchema: a schema at migration 3 stores
// payloads as jsonb, and an event written there with thousands of numbers
// like 1e131071 (about 74 kB as written; PostgreSQL prints each in full, over
// 1 GB in all) fails every read that reaches it with "out of memory"
// (54000) after seconds of server time. The store, before it is migrated,
// delivers the events before it and names it; after migration 4 (payloads
// as json) it reads as the same value, its numbers in exponent form, at the
// size it was written, and so do the jsonb values around it, as jsonb
// printed them.
func TestUnreadablePayloadInAnOldSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("each read of the poisoned event costs the server ~1 GB and seconds")
	}
	pool, schema := poolAtMigration(t, 3)
	ctx := t.Context()
	insert := func(stream string, version int, data, metadata string) eventstore.RecordedEvent {
		e := eventstore.RecordedEvent{Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "Old"}, StreamID: stream, Version: uint64(version)}
		if err := pool.QueryRow(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data, metadata)
			VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3, 'Old', $4::jsonb, $5::jsonb) RETURNING transaction_id, position`,
			stream, version, e.ID, data, metadata).Scan(&e.Position.Commit, &e.Position.Prepare); err != nil {
			t.Fatal(err)
		}
		return e
	}
	const numbers = 8200
	poison := "[" + strings.Repeat("1e131071,", numbers-1) + "-2.5e-16000]"
	first := insert("old", 1, `{"b": [1, 2.50, -0, 1e3], "a": "x"}`, `{"correlation_id": "c-1"}`)
	bad := insert("old", 2, poison, `{"correlation_id": "c-1"}`)
	last := insert("other", 1, `{"zero": 0e-20, "small": 0.000001}`, `{"correlation_id": "c-2"}`)

	s, err := espg.New(pool, espg.Config{Schema: schema, PollInterval: 20 * time.Millisecond, HorizonWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// ReadAll takes Subscribe's path (TestUnreadableEvent covers it).
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	got, err := readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{}), 0)
	requireUnreadable(t, "Subscribe to the old schema", got, err, []uuid.UUID{first.ID}, bad)
	got, err = readUntilError(s.ReadStream(ctx, "old", eventstore.ReadStreamOptions{}), 0)
	requireUnreadable(t, "ReadStream of the old schema", got, err, []uuid.UUID{first.ID}, bad)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate a schema holding the poisoned event: %v", err)
	}
	all, err := readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
	if err != nil || len(all) != 3 || all[0].ID != first.ID || all[2].ID != last.ID {
		t.Fatalf("ReadAll after migration 4: %d events, %v", len(all), err)
	}
	if got := string(all[0].Data); got != `{"a": "x", "b": [1, 2.50, 0, 1000]}` {
		t.Errorf("an old payload reads %s, want it as jsonb printed it", got)
	}
	if got := string(all[2].Data); got != `{"zero": 0.00000000000000000000, "small": 0.000001}` {
		t.Errorf("an old payload reads %s, want it as jsonb printed it", got)
	}
	if all[0].Metadata.CorrelationID != "c-1" || all[2].Metadata.CorrelationID != "c-2" {
		t.Errorf("metadata after migration 4: %+v, %+v", all[0].Metadata, all[2].Metadata)
	}
	p := all[1]
	if p.ID != bad.ID || len(p.Data) > 2*len(poison) {
		t.Fatalf("the formerly poisoned event: %s, %d bytes (written: %d)", p.ID, len(p.Data), len(poison))
	}
	// The same numbers: 1e131071 and -2.5e-16000, compared as exact values.
	var nums []json.Number
	dec := json.NewDecoder(bytes.NewReader(p.Data))
	dec.UseNumber()
	if err := dec.Decode(&nums); err != nil || len(nums) != numbers {
		t.Fatalf("the formerly poisoned payload %.80s...: %d numbers, %v", p.Data, len(nums), err)
	}
	big1 := new(big.Rat).SetFrac(new(big.Int).Exp(big.NewInt(10), big.NewInt(131071), nil), big.NewInt(1))
	lastWant := new(big.Rat).SetFrac(big.NewInt(-25), new(big.Int).Exp(big.NewInt(10), big.NewInt(16001), nil))
	for i, n := range nums {
		want := big1
		if i == numbers-1 {
			want = lastWant
		}
		r, ok := new(big.Rat).SetString(string(n))
		if !ok || r.Cmp(want) != 0 {
			t.Fatalf("number %d reads %.40s, not the value stored", i, n)
		}
	}
}

// The events a read delivers before an unreadable one are counted in
// chronicle.store.events.read like any others, by every kind of read.
func TestUnreadableEventReadsAreCounted(t *testing.T) {
	sdk := telemetrytest.New(t)
	s, pool, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, HorizonWait: 30 * time.Second,
		TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	ctx := t.Context()
	before, _, bad := badEvent(t, s, pool)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, c := range []struct {
		op   string
		read func() ([]eventstore.RecordedEvent, error)
		want int
	}{
		{"read_stream", func() ([]eventstore.RecordedEvent, error) {
			return readUntilError(s.ReadStream(ctx, "s", eventstore.ReadStreamOptions{}), 0)
		}, 1},
		{"read_all", func() ([]eventstore.RecordedEvent, error) {
			return readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
		}, len(before)},
		{"subscribe", func() ([]eventstore.RecordedEvent, error) {
			return readUntilError(s.Subscribe(sctx, eventstore.SubscribeOptions{}), 0)
		}, len(before)},
	} {
		got, err := c.read()
		requireUnreadable(t, c.op, got, err, before[:c.want], bad)
		if v, ok := sdk.Value(t, "chronicle.store.events.read", "chronicle.operation="+c.op); !ok || int(v) != c.want {
			t.Errorf("%s: %v events read counted (%v), want the %d delivered", c.op, v, ok, c.want)
		}
	}
}
