package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/aggregate"
	aggpg "github.com/chronicle-go/chronicle/aggregate/postgres"
	"github.com/chronicle-go/chronicle/aggregate/snapshottest"
	"github.com/chronicle-go/chronicle/command/commandtest"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
)

// open returns a migrated event store and a paired snapshot store in a fresh
// schema.
func open(t testing.TB) (*espg.Store, *aggpg.SnapshotStore, *pgxpool.Pool) {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(40))
	ctx := context.Background()
	events, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Close() })
	snaps, err := aggpg.New(pool, aggpg.Config{EventStore: events})
	if err != nil {
		t.Fatal(err)
	}
	if snaps.Schema() != schema {
		t.Fatalf("snapshot schema %q, want the event store's %q", snaps.Schema(), schema)
	}
	if err := events.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := snaps.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return events, snaps, pool
}

func TestSnapshotConformance(t *testing.T) {
	snapshottest.Run(t, func(t *testing.T) aggregate.SnapshotStore {
		_, snaps, _ := open(t)
		return snaps
	})
}

func TestBackend(t *testing.T) {
	commandtest.Run(t, func(t *testing.T) commandtest.Backend {
		events, snaps, _ := open(t)
		return commandtest.Backend{Store: events, Snapshots: snaps}
	})
}

func TestConfig(t *testing.T) {
	if err := (aggpg.Config{Schema: `x"; DROP TABLE y; --`, Attempts: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "Schema") || !strings.Contains(err.Error(), "Attempts") {
		t.Fatalf("Validate = %v", err)
	}
	if _, err := aggpg.New(nil, aggpg.Config{}); err == nil {
		t.Fatal("New(nil pool) succeeded")
	}
	pool, _ := pgtest.Pool(t)
	s, err := aggpg.New(pool, aggpg.Config{})
	if err != nil || s.Schema() != pgmigrate.DefaultSchema || s.EventStore() != nil {
		t.Fatalf("zero config: schema %q, event store %v, %v", s.Schema(), s.EventStore(), err)
	}
}

func TestSaveAndLoad(t *testing.T) {
	_, snaps, _ := open(t)
	ctx := context.Background()
	if _, ok, err := snaps.LoadSnapshot(ctx, "order-1"); ok || err != nil {
		t.Fatalf("missing snapshot: %v, %v", ok, err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	want := aggregate.Snapshot{Stream: "order-1", Type: "order", Version: 200, SchemaVersion: 3, Data: []byte{0, 1, 2, 255}, CreatedAt: at}
	if err := snaps.SaveSnapshot(ctx, want); err != nil {
		t.Fatal(err)
	}
	// An older snapshot never replaces a newer one.
	if err := snaps.SaveSnapshot(ctx, aggregate.Snapshot{Stream: "order-1", Type: "order", Version: 100, SchemaVersion: 3, Data: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := snaps.LoadSnapshot(ctx, "order-1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got.Stream != want.Stream || got.Type != want.Type || got.Version != 200 || got.SchemaVersion != 3 ||
		string(got.Data) != string(want.Data) || !got.CreatedAt.Equal(at) {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	newer := aggregate.Snapshot{Stream: "order-1", Type: "order", Version: 300, SchemaVersion: 4, Data: []byte(`{}`)}
	if err := snaps.SaveSnapshot(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := snaps.LoadSnapshot(ctx, "order-1"); got.Version != 300 || got.SchemaVersion != 4 || got.CreatedAt.IsZero() {
		t.Fatalf("after a newer save: %+v", got)
	}
	for _, bad := range []aggregate.Snapshot{
		{Type: "order", Version: 1, SchemaVersion: 1},
		{Stream: "s", Version: 1, SchemaVersion: 1},
		{Stream: "s", Type: "order", SchemaVersion: 1},
		{Stream: "s", Type: "order", Version: 1},
	} {
		if err := snaps.SaveSnapshot(ctx, bad); err == nil {
			t.Errorf("SaveSnapshot(%+v) succeeded", bad)
		}
	}
}

func TestMigrateTwice(t *testing.T) {
	_, snaps, _ := open(t)
	if err := snaps.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAppendWithSnapshotIsAtomic(t *testing.T) {
	events, snaps, pool := open(t)
	ctx := context.Background()
	ev := func(n int) []eventstore.Event {
		out := make([]eventstore.Event, n)
		for i := range out {
			out[i] = eventstore.NewEvent("Counted", []byte(`{"n":1}`))
		}
		return out
	}
	snap := aggregate.Snapshot{Stream: "c-1", Type: "c", Version: 3, SchemaVersion: 1, Data: []byte(`{"count":3}`)}
	res, err := snaps.AppendWithSnapshot(ctx, "c-1", eventstore.NoStream, ev(3), snap)
	if err != nil || res.Version != 3 || len(res.Positions) != 3 {
		t.Fatalf("AppendWithSnapshot = %+v, %v", res, err)
	}
	if got, ok, _ := snaps.LoadSnapshot(ctx, "c-1"); !ok || got.Version != 3 {
		t.Fatalf("snapshot %+v", got)
	}
	// A refused append writes no snapshot.
	bad := aggregate.Snapshot{Stream: "c-1", Type: "c", Version: 5, SchemaVersion: 1, Data: []byte(`{"count":5}`)}
	_, err = snaps.AppendWithSnapshot(ctx, "c-1", eventstore.Exact(1), ev(2), bad)
	if !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("stale append = %v, want a conflict", err)
	}
	if got, _, _ := snaps.LoadSnapshot(ctx, "c-1"); got.Version != 3 {
		t.Fatalf("a refused append left a snapshot at %d", got.Version)
	}
	// A snapshot that cannot be written (here: no aggregate type, refused
	// after the events were appended in the transaction) rolls them back.
	_, err = snaps.AppendWithSnapshot(ctx, "c-1", eventstore.Exact(3), ev(2), aggregate.Snapshot{Stream: "c-1", Version: 5, SchemaVersion: 1})
	if err == nil {
		t.Fatal("an invalid snapshot was accepted")
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = 'c-1'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d events stored, want 3: the events of a failed snapshot write were kept", n)
	}
	// The events are visible through the store as soon as it commits.
	count := 0
	for _, err := range events.ReadStream(ctx, "c-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 3 {
		t.Fatalf("ReadStream yields %d events", count)
	}
}
