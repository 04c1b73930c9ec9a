package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/unreadable"
	"github.com/chronicle-go/chronicle/pgmigrate"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// An event the store cannot return stops a projection with the store's
// error, which `projections status` shows, and `projections skip` moves it
// past; a saga parks it, and `sagas parked` shows it. (The store's read is
// a test double here: it fails on one event as the PostgreSQL store does
// for a payload it cannot print.)
func TestUnreadableEvent(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	a := &app{schema: e.schema}
	for _, name := range []string{"counts_retry", "counts_skip"} {
		if _, err := pool.Exec(ctx, `CREATE TABLE `+a.table(name)+` (stream text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
	}
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-1"}}`, "append", "order-1", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-2"}}`, "append", "order-2", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-3"}}`, "append", "order-3", "--expected", "no-stream")
	events, err := espg.New(pool, espg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	var bad eventstore.RecordedEvent
	for ev, err := range events.ReadStream(ctx, "order-2", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		bad = ev
	}
	store := unreadable.Wrap(events)
	store.Poison(bad.Position, -1)

	// The application's service runs the projections and the saga.
	runner, err := a.runner(pool, store)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := newFulfilment(pool, e.schema, store)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = runner.Run(runCtx); done <- struct{}{} }()
	go func() { _ = engine.Run(runCtx); done <- struct{}{} }()
	defer func() { stop(); <-done; <-done }()

	waitFor(t, "the projections to stop at the unreadable event", func() bool {
		list := e.projections("projections", "list")
		return len(list) == 2 && list[0].State == "failed" && list[1].State == "failed"
	})
	p := e.projectionNamed("counts_skip")
	if p.Failure == nil || p.Failure.Stream != "order-2" || p.Failure.Version != 1 || p.Failure.Type != "OrderPlaced" ||
		!strings.Contains(p.Failure.Error, "unreadable event") || !strings.Contains(p.Failure.Error, unreadable.Cause.Error()) || p.Handled != 1 {
		t.Fatalf("status of a projection stopped at an unreadable event: %+v", p)
	}
	text := e.ok("", "projections", "status", "counts_skip")
	for _, want := range []string{"failed", "order-2@1 OrderPlaced", "unreadable event", "projections skip counts_skip"} {
		if !strings.Contains(text, want) {
			t.Errorf("projections status counts_skip should show %q:\n%s", want, text)
		}
	}
	if got := e.normalise(e.ok("", "projections", "skip", "counts_skip")); !strings.Contains(got, "skipped order-2@1 OrderPlaced") {
		t.Errorf("skip printed %q", got)
	}
	waitFor(t, "counts_skip to pass the unreadable event", func() bool {
		p := e.projectionNamed("counts_skip")
		return p.State == "running" && p.Handled == 2
	})
	if n := e.rows("counts_skip"); n != 2 {
		t.Errorf("counts_skip has %d rows, want 2 (order-1, order-3)", n)
	}

	var parked []struct {
		EventID string `json:"event_id"`
		Stream  string `json:"stream"`
		Error   string `json:"error"`
	}
	waitFor(t, "the saga to park the unreadable event", func() bool {
		if err := json.Unmarshal([]byte(e.ok("", "sagas", "parked", "fulfilment", "--json")), &parked); err != nil {
			t.Fatal(err)
		}
		return len(parked) == 1
	})
	if p := parked[0]; p.EventID != bad.ID.String() || p.Stream != "order-2" || !strings.Contains(p.Error, "unreadable event") {
		t.Fatalf("parked: %+v", parked)
	}
	if text := e.ok("", "sagas", "parked", "fulfilment"); !strings.Contains(text, "unreadable event") || !strings.Contains(text, "order-2") {
		t.Errorf("sagas parked should show the unreadable event:\n%s", text)
	}
}

// TestUnreadableEventBeforeMigration4 is the real case, on PostgreSQL
// with no test double: a database whose event store is still at migration
// 3 (payloads stored as jsonb) holds an event written, as the old schema's
// append_events wrote it, with thousands of numbers like 1e131071 — about
// 74 kB as written, but jsonb prints each in full, so every read that
// reaches it fails with out of memory (SQLSTATE 54000). Appends made since
// migration 4 are stored byte for byte as json and cannot do this. The
// application's projections stop Failed at the event with the store's
// error instead of reading it again forever, `projections status` shows
// it and `projections skip` moves one past it, after which the event
// behind it is applied; the saga engine parks it, handles the events
// behind it, and `sagas parked` shows it. (Migration 4 rewrites such an
// event in a form that reads: TestUnreadablePayloadInAnOldSchema in
// eventstore/postgres. Not here: the rewrite of this one event takes the
// server about 20 s in one transaction, which holds the horizon of every
// subscriber in the cluster, other packages' tests included.)
func TestUnreadableEventBeforeMigration4(t *testing.T) {
	if testing.Short() {
		t.Skip("each read of the poisoned event costs the server ~1 GB and seconds")
	}
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v3 := espg.Migrations
	v3.Migrations = v3.Migrations[:3]
	if _, err := pgmigrate.Apply(ctx, pool, e.schema, v3, projpg.Migrations, sagapg.Migrations); err != nil {
		t.Fatal(err)
	}
	a := &app{schema: e.schema}
	for _, name := range []string{"counts_retry", "counts_skip"} {
		if _, err := pool.Exec(ctx, `CREATE TABLE `+a.table(name)+` (stream text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
	}
	// Each event in a transaction of its own, through the schema's own
	// append function, which takes jsonb.
	oldAppend := func(stream, data string) eventstore.RecordedEvent {
		t.Helper()
		md, err := json.Marshal(eventstore.Metadata{CorrelationID: stream})
		if err != nil {
			t.Fatal(err)
		}
		ev := eventstore.RecordedEvent{Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "OrderPlaced"}, StreamID: stream, Version: 1}
		var status int16
		if err := pool.QueryRow(ctx, `SELECT status, tids[1], positions[1] FROM `+pgmigrate.Quote(e.schema)+`.append_events(
			$1, 1::smallint, 0, false, ARRAY[$2::uuid], ARRAY['OrderPlaced'], ARRAY[$3::jsonb], ARRAY[$4::jsonb])`,
			stream, ev.ID, data, string(md)).Scan(&status, &ev.Position.Commit, &ev.Position.Prepare); err != nil || status != 0 {
			t.Fatalf("append %s as migration 3 did: status %d, %v", stream, status, err)
		}
		return ev
	}
	oldAppend("order-1", `{"Order": "o-1"}`)
	bad := oldAppend("order-2", `{"Order": "o-2", "Amounts": [`+strings.Repeat("1e131071, ", 8199)+`1e131071]}`)
	oldAppend("order-3", `{"Order": "o-3"}`)

	events, err := espg.New(pool, espg.Config{Schema: e.schema, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	runner, err := a.runner(pool, events)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := newFulfilment(pool, e.schema, events)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = runner.Run(runCtx); done <- struct{}{} }()
	go func() { _ = engine.Run(runCtx); done <- struct{}{} }()
	defer func() { stop(); <-done; <-done }()

	// A hang detector only: each failed read takes the server seconds.
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("the projections to stop at the unreadable event", func() bool {
		list := e.projections("projections", "list")
		return len(list) == 2 && list[0].State == "failed" && list[1].State == "failed"
	})
	for _, name := range []string{"counts_retry", "counts_skip"} {
		p := e.projectionNamed(name)
		if p.Failure == nil || p.Failure.Stream != "order-2" || p.Failure.Version != 1 || p.Failure.Type != "OrderPlaced" ||
			!strings.Contains(p.Failure.Error, "unreadable event") || !strings.Contains(p.Failure.Error, "54000") || p.Handled != 1 {
			t.Fatalf("%s stopped at an event jsonb cannot print: %+v", name, p)
		}
	}
	text := e.ok("", "projections", "status", "counts_skip")
	for _, want := range []string{"failed", "order-2@1 OrderPlaced", "unreadable event", "out of memory", "projections skip counts_skip"} {
		if !strings.Contains(text, want) {
			t.Errorf("projections status counts_skip should show %q:\n%s", want, text)
		}
	}
	if got := e.normalise(e.ok("", "projections", "skip", "counts_skip")); !strings.Contains(got, "skipped order-2@1 OrderPlaced") {
		t.Errorf("skip printed %q", got)
	}
	wait("counts_skip to apply the event behind the unreadable one", func() bool {
		p := e.projectionNamed("counts_skip")
		return p.State == "running" && p.Handled == 2
	})
	if n := e.rows("counts_skip"); n != 2 {
		t.Errorf("counts_skip has %d rows, want 2 (order-1, order-3)", n)
	}

	var parked []struct {
		EventID string `json:"event_id"`
		Stream  string `json:"stream"`
		Error   string `json:"error"`
	}
	wait("the saga to park the unreadable event", func() bool {
		if err := json.Unmarshal([]byte(e.ok("", "sagas", "parked", "fulfilment", "--json")), &parked); err != nil {
			t.Fatal(err)
		}
		return len(parked) == 1
	})
	if p := parked[0]; p.EventID != bad.ID.String() || p.Stream != "order-2" || !strings.Contains(p.Error, "unreadable event") ||
		!strings.Contains(p.Error, "54000") {
		t.Fatalf("parked: %+v", parked)
	}
	if text := e.ok("", "sagas", "parked", "fulfilment"); !strings.Contains(text, "unreadable event") || !strings.Contains(text, "order-2") {
		t.Errorf("sagas parked should show the unreadable event:\n%s", text)
	}
	wait("the saga to handle the event behind the unreadable one", func() bool {
		h, err := engine.History(ctx, "o-3")
		return err == nil && h.Instance.ID == "o-3"
	})
	if _, err := engine.History(ctx, "o-2"); !errors.Is(err, saga.ErrNotFound) {
		t.Errorf("a saga instance for the unreadable event: %v", err)
	}
}
