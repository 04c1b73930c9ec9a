package postgres_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// TestRelays: the overview lists the relays of the relay tables, with
// their position, lag, published and parked counts and owner, the same as
// relay.Describe reads them.
func TestRelays(t *testing.T) {
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
	rs, err := relaypg.New(pool, relaypg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var positions []eventstore.Position
	for i := range 12 {
		typ := "OrderPlaced"
		if i%2 == 1 {
			typ = "OrderNoted"
		}
		res, err := store.Append(ctx, "order-1", eventstore.Any, eventstore.NewEvent(typ, []byte(`{}`)))
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, res.Positions...)
	}
	// Other tests' transactions anywhere in the cluster may hold the
	// horizon: compare once the head has reached the appends.
	waitFor(t, 60*time.Second, "the head to reach the appends", func() bool {
		h, err := store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h == positions[len(positions)-1]
	})
	// The relay published the first four events and parked the fifth.
	filter := eventstore.Filter{EventTypes: []string{"OrderPlaced"}}
	claim, err := rs.Claim(ctx, "orders-to-nats", filter)
	if err != nil {
		t.Fatal(err)
	}
	parked := relay.Parked{Relay: "orders-to-nats", Message: broker.Message{ID: "m-5", Type: "OrderPlaced"},
		Position: positions[4], Error: "subject not allowed", State: relay.StateParked, Attempts: 1, ParkedAt: time.Now()}
	if err := claim.Advance(ctx, eventstore.Position{}, positions[4], time.Now(), 2, []relay.Parked{parked}); err != nil {
		t.Fatal(err)
	}
	if err := claim.Release(ctx); err != nil {
		t.Fatal(err)
	}
	src, err := consolepg.New(ctx, pool, consolepg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	comps, err := src.Components(ctx)
	if err != nil || !comps.Relays || comps.Sagas || comps.Projections {
		t.Fatalf("components %+v, %v", comps, err)
	}
	got, err := src.Relays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := rs.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := relay.Describe(ctx, store, recs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("got %d relays, want 1", len(got))
	}
	g, w := got[0], want[0]
	if g.Name != w.Name || g.Position != w.Checkpoint || g.LagEvents != w.LagEvents || g.LagEvents != 3 || g.Parked != 1 ||
		g.Published != 2 || g.Owned || g.Owner != w.Owner {
		t.Errorf("console %+v, relay.Describe %+v", g, w)
	}
	// The memory adapter agrees.
	mem, err := console.RelayStore(store, rs).Relays(ctx)
	if err != nil || len(mem) != 1 || mem[0].LagEvents != g.LagEvents || mem[0].Parked != g.Parked {
		t.Errorf("RelayStore: %+v, %v", mem, err)
	}
	c, err := console.New(console.Config{Events: src.Events(), Index: src, Relays: src})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	status, body := get(t, client(t), srv.URL, "/")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	i := strings.Index(body, `id="overview-relays"`)
	if i < 0 {
		t.Fatal("no relays section")
	}
	contains(t, body[i:], "orders-to-nats", `data-live="lag">3<`, `data-live="parked" class="warn">1<`, `data-live="published">2<`)
}
