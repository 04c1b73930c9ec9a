package postgres_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
)

// TestHorizonHeld: while a transaction holds the store's horizon back, the
// overview says which one and up to where committed events wait.
func TestHorizonHeld(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "order-1", eventstore.Any, eventstore.NewEvent("OrderPlaced", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	// A transaction that took an ID and stays open, named so the page can
	// show it.
	cfg, err := pgx.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = schema
	holder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var ours int64
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&ours); err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(ctx, "order-1", eventstore.Any, eventstore.NewEvent("OrderNoted", []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	src, err := consolepg.New(ctx, pool, consolepg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c, err := console.New(console.Config{Events: src.Events(), Index: src, CacheFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	// The page names the oldest transaction running in the cluster: ours,
	// unless a test of another package holds an older one at that moment
	// (they share the server). Then it is right not to name ours; look
	// again until ours is the oldest, or accept the other while it is
	// older than ours.
	var body string
	oursOldest := false
	for i := 0; ; i++ {
		_, body = get(t, client(t), srv.URL, "/")
		contains(t, body, `id="horizon-held"`, res.Positions[0].String())
		if strings.Contains(body, "application &#34;"+schema+"&#34;") {
			contains(t, body, "idle in transaction")
			break
		}
		var older bool
		if err := pool.QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint < $1", ours).Scan(&older); err != nil {
			t.Fatal(err)
		}
		if !older {
			// Ours is the oldest now, and stays so while it runs (later
			// transactions have larger IDs): the next page must name it.
			if oursOldest {
				t.Fatalf("the overview does not name the transaction holding the horizon (ours, xid %d):\n%s", ours, body)
			}
			oursOldest = true
			continue
		}
		if i == 50 {
			t.Logf("another package's transaction, older than ours, held the horizon for the whole test")
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = get(t, client(t), srv.URL, "/")
		if !strings.Contains(body, `id="horizon-held"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the overview still says the horizon is held after the transaction ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
