package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// TestRelayUnreadableEventBeforeMigration4 is TestUnreadableEventBeforeMigration4's
// case for a relay, on PostgreSQL with no test double: an event written as
// the event store's migration 3 wrote it, whose jsonb payload the server
// cannot print (every read that reaches it fails with out of memory,
// SQLSTATE 54000). The relay reads it ReadAttempts times, parks it and
// publishes the event behind it; `relay status` and `relay parked` show
// it, `relay retry` reads it again and leaves it parked with the new
// error (it still cannot be printed), `relay skip` forgets it.
func TestRelayUnreadableEventBeforeMigration4(t *testing.T) {
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
	if _, err := pgmigrate.Apply(ctx, pool, e.schema, v3, relaypg.Migrations); err != nil {
		t.Fatal(err)
	}
	// Each event in a transaction of its own, through the schema's own
	// append function, which takes jsonb.
	oldAppend := func(stream, data string) eventstore.RecordedEvent {
		t.Helper()
		ev := eventstore.RecordedEvent{Event: eventstore.Event{ID: eventstore.NewEventID(), Type: "OrderPlaced"}, StreamID: stream, Version: 1}
		var status int16
		if err := pool.QueryRow(ctx, `SELECT status, tids[1], positions[1] FROM `+pgmigrate.Quote(e.schema)+`.append_events(
			$1, 1::smallint, 0, false, ARRAY[$2::uuid], ARRAY['OrderPlaced'], ARRAY[$3::jsonb], ARRAY['{}'::jsonb])`,
			stream, ev.ID, data).Scan(&status, &ev.Position.Commit, &ev.Position.Prepare); err != nil || status != 0 {
			t.Fatalf("append %s as migration 3 did: status %d, %v", stream, status, err)
		}
		return ev
	}
	first := oldAppend("order-1", `{"Order": "o-1"}`)
	bad := oldAppend("order-2", `{"Order": "o-2", "Amounts": [`+strings.Repeat("1e131071, ", 8199)+`1e131071]}`)
	last := oldAppend("order-3", `{"Order": "o-3"}`)

	events, err := espg.New(pool, espg.Config{Schema: e.schema, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	state, err := relaypg.New(pool, relaypg.Config{Schema: e.schema, Owner: "service", ClaimInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := memory.New()
	b.Bind("q", "OrderPlaced")
	r, err := relay.New(events, state, b, relay.Config{Name: "orders", Source: "/shop", ReadAttempts: 2,
		CheckpointInterval: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	// A hang detector only: each failed read takes the server seconds.
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	var parked []struct {
		Kind     string `json:"kind"`
		ID       string `json:"id"`
		Position string `json:"position"`
		Type     string `json:"type"`
		Subject  string `json:"subject"`
		Version  uint64 `json:"stream_version"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
	}
	// `relay parked` reads the relay's table only, never the log.
	wait("the relay to park the unreadable event", func() bool {
		r := e.run("", "relay", "parked", "orders", "--json")
		if r.code == cli.ExitNotFound {
			return false // the relay has not claimed its record yet
		}
		if r.code != cli.ExitOK {
			t.Fatalf("relay parked: exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &parked); err != nil {
			t.Fatal(err)
		}
		return len(parked) == 1
	})
	if p := parked[0]; p.Kind != "unreadable" || p.ID != bad.ID.String() || p.Position != bad.Position.String() || p.Type != "OrderPlaced" ||
		p.Subject != "order-2" || p.Version != 1 || p.State != "parked" || p.Attempts != 2 ||
		!strings.Contains(p.Error, "unreadable event") || !strings.Contains(p.Error, "54000") {
		t.Fatalf("parked: %+v", parked)
	}
	text := e.ok("", "relay", "parked", "orders")
	for _, want := range []string{"KIND", "unreadable", bad.ID.String(), "order-2@1", "out of memory"} {
		if !strings.Contains(text, want) {
			t.Errorf("relay parked orders should show %q:\n%s", want, text)
		}
	}
	var status []struct {
		Checkpoint string `json:"checkpoint"`
		Head       string `json:"head"`
		LagEvents  int    `json:"lag_events"`
		Published  uint64 `json:"published"`
		Parked     int    `json:"parked"`
	}
	wait("the relay to publish the event behind the unreadable one", func() bool {
		if err := json.Unmarshal([]byte(e.ok("", "relay", "status", "orders", "--json")), &status); err != nil {
			t.Fatal(err)
		}
		return len(status) == 1 && status[0].Published == 2
	})
	if s := status[0]; s.Checkpoint != last.Position.String() || s.Head != last.Position.String() || s.LagEvents != 0 || s.Parked != 1 {
		t.Fatalf("relay status: %+v", s)
	}
	if st := b.Stats("q"); st.Published != 2 {
		t.Fatalf("the broker got %d messages, want 2 (order-1, order-3)", st.Published)
	}
	ds, err := b.Consumer("q").Receive(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{first.ID.String(), last.ID.String()} {
		if m, _ := ds[i].Message(); m.ID != want {
			t.Errorf("message %d is %s, want %s", i, m.ID, want)
		}
	}

	// A retry while the event still cannot be printed reads it again (by
	// stream and version) and parks it again with the new error.
	if out := e.ok("", "relay", "retry", "orders", bad.ID.String()); !strings.Contains(out, "1 parked message(s) marked for retry") {
		t.Errorf("relay retry printed %q", out)
	}
	wait("the retry to fail", func() bool {
		if err := json.Unmarshal([]byte(e.ok("", "relay", "parked", "orders", "--json")), &parked); err != nil {
			t.Fatal(err)
		}
		return len(parked) == 1 && parked[0].State == "parked" && parked[0].Attempts == 3
	})
	if p := parked[0]; p.Kind != "unreadable" || !strings.Contains(p.Error, "read parked event") || !strings.Contains(p.Error, "54000") {
		t.Fatalf("parked after a failed retry: %+v", p)
	}
	if st := b.Stats("q"); st.Published != 2 {
		t.Fatalf("the broker got %d messages after the failed retry, want 2", st.Published)
	}

	if out := e.ok("", "relay", "skip", "orders", bad.ID.String()); !strings.Contains(out, "1 parked message(s) skipped") {
		t.Errorf("relay skip printed %q", out)
	}
	if out := e.ok("", "relay", "parked", "orders", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("relay parked after the skip: %s", out)
	}
	if out := e.ok("", "relay", "status", "orders", "--json"); !strings.Contains(out, `"parked":0`) {
		t.Errorf("relay status after the skip: %s", out)
	}
}
