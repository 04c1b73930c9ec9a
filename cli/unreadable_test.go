package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/unreadable"
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
