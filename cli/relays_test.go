package cli_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/inbox"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// TestRelayAndInbox sets up a relay with two parked messages and an inbox
// with processed, failing and parked messages through the libraries, then
// reads and changes them with the CLI.
func TestRelayAndInbox(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx := context.Background()
	cfg := pgtest.Config(t, e.schema)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	events, err := espg.New(pool, espg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	var last eventstore.Position
	for i := range 3 {
		res, err := events.Append(ctx, "order-1", eventstore.Any, eventstore.NewEvent("OrderPlaced", []byte(`{"i":`+string(rune('0'+i))+`}`)))
		if err != nil {
			t.Fatal(err)
		}
		last = res.Positions[0]
	}
	state, err := relaypg.New(pool, relaypg.Config{Schema: e.schema, Owner: "test-owner"})
	if err != nil {
		t.Fatal(err)
	}
	claim, err := state.Claim(ctx, "orders", eventstore.Filter{EventTypes: []string{"OrderPlaced", "OrderCancelled"}})
	if err != nil {
		t.Fatal(err)
	}
	parked := []relay.Parked{
		{Message: broker.Message{ID: "m-1", Source: "/s", Type: "OrderPlaced", Subject: "order-1", Data: []byte(`{}`)}, Position: eventstore.Position{Commit: 1, Prepare: 1}, Error: "no route"},
		{Message: broker.Message{ID: "m-2", Source: "/s", Type: "OrderPlaced", Subject: "order-1", Data: []byte(`{}`)}, Position: eventstore.Position{Commit: 1, Prepare: 2}, Error: "too large"},
	}
	if err := claim.Advance(ctx, eventstore.Position{}, last, time.Now(), 1, parked); err != nil {
		t.Fatal(err)
	}

	out := e.ok("", "relay", "status")
	for _, want := range []string{"NAME", "orders", "PUBLISHED", "test-owner", "yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("relay status lacks %q:\n%s", want, out)
		}
	}
	out = e.ok("", "relay", "status", "--json")
	if !strings.Contains(out, `"parked":2`) || !strings.Contains(out, `"lag_events":0`) || !strings.Contains(out, `"owned":true`) {
		t.Errorf("relay status --json: %s", out)
	}
	out = e.ok("", "relay", "parked", "orders")
	if !strings.Contains(out, "m-1") || !strings.Contains(out, "too large") {
		t.Errorf("relay parked:\n%s", out)
	}
	e.fails(cli.ExitNotFound, "", "relay", "parked", "nope")
	e.fails(cli.ExitUsage, "", "relay", "retry", "orders")
	e.fails(cli.ExitNotFound, "", "relay", "skip", "orders", "no-such-id")
	if out := e.ok("", "relay", "skip", "orders", "m-2"); !strings.Contains(out, "1 parked message(s) skipped") {
		t.Errorf("relay skip: %s", out)
	}
	if out := e.ok("", "relay", "retry", "orders", "--all"); !strings.Contains(out, "1 parked message(s) marked for retry") {
		t.Errorf("relay retry: %s", out)
	}
	retries, err := claim.Retries(ctx)
	if err != nil || len(retries) != 1 || retries[0].Message.ID != "m-1" {
		t.Fatalf("after the CLI's retry the owner sees %v, %v", retries, err)
	}
	_ = claim.Release(ctx)

	in, err := inboxpg.New(pool, inboxpg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Commit(ctx, "logistics", []string{"a", "b"}, func(context.Context, *inboxpg.Tx, func(int) bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	poison := broker.Message{ID: "p", Source: "/s", Type: "T", Subject: "x"}
	if _, err := in.Fail(ctx, "logistics", broker.Message{ID: "f", Source: "/s", Type: "T"}, errors.New("flaky")); err != nil {
		t.Fatal(err)
	}
	if err := in.Park(ctx, "logistics", poison, errors.New("cannot"), 5); err != nil {
		t.Fatal(err)
	}
	var _ inbox.Store[*inboxpg.Tx] = in
	out = e.ok("", "inbox", "status")
	if !strings.Contains(out, "logistics") || !strings.Contains(out, "CONSUMER") {
		t.Errorf("inbox status:\n%s", out)
	}
	out = e.ok("", "inbox", "status", "--json")
	if !strings.Contains(out, `"processed":2`) || !strings.Contains(out, `"failing":1`) || !strings.Contains(out, `"parked":1`) {
		t.Errorf("inbox status --json: %s", out)
	}
	if out := e.ok("", "inbox", "parked"); !strings.Contains(out, "cannot") {
		t.Errorf("inbox parked:\n%s", out)
	}
}
