package postgres_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// TestPages visits every page of a console over e-commerce data and checks
// what each shows against the database.
func TestPages(t *testing.T) {
	s := newShop(t, shopOptions{orders: 12, index: true})
	c := client(t)
	base := s.srv.URL
	ctx := context.Background()

	t.Run("overview", func(t *testing.T) {
		status, body := get(t, c, base, "/")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "ecommerce-orders", "ecommerce-stock", "fulfilment", `id="sparkline"`, "Head position")
		st, err := s.src.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		contains(t, body, st.Head.String())
	})
	t.Run("streams", func(t *testing.T) {
		status, body := get(t, c, base, "/streams?prefix=order-&limit=5")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "order-"+s.orders[0], `id="next-page"`)
		if n := strings.Count(body, `href="/stream?id=order-`); n != 5 {
			t.Errorf("%d streams listed, want 5", n)
		}
		// The next page starts after the last one listed.
		m := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(body)
		status, body2 := get(t, c, base, strings.ReplaceAll(m[1], "&amp;", "&"))
		if status != 200 || strings.Contains(body2, `href="/stream?id=order-`+s.orders[0]+`"`) {
			t.Errorf("second page: status %d, repeats the first stream", status)
		}
		_, body = get(t, c, base, "/streams?prefix=nothing-like-this")
		contains(t, body, "No stream starts with")
	})
	t.Run("stream", func(t *testing.T) {
		status, body := get(t, c, base, "/stream?id="+url.QueryEscape("order-"+s.orders[0]))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "OrderPlaced")
		status, _ = get(t, c, base, "/stream?id=no-such-stream")
		if status != 404 {
			t.Errorf("missing stream: status %d, want 404", status)
		}
	})
	t.Run("event and correlation", func(t *testing.T) {
		var placed eventstore.RecordedEvent
		for e, err := range s.src.Events().ReadStream(ctx, "order-"+s.orders[0], eventstore.ReadStreamOptions{Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			placed = e
		}
		status, body := get(t, c, base, "/event?id="+placed.ID.String())
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "OrderPlaced", s.orders[0], `id="correlation-link"`, "StockReserved")
		// The order's chain: every event of its correlation, in global
		// order, with the saga commands that caused them.
		f, err := s.src.Correlated(ctx, s.orders[0], 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Events) < 3 || f.Partial {
			t.Fatalf("correlation holds %d events (partial %v)", len(f.Events), f.Partial)
		}
		status, body = get(t, c, base, "/correlation?id="+url.QueryEscape(s.orders[0]))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		if n := strings.Count(body, `class="chain-event"`); n != len(f.Events) {
			t.Errorf("chain lists %d events, want %d", n, len(f.Events))
		}
		contains(t, body, "fulfilment:")
		last := -1
		for _, e := range f.Events {
			i := strings.Index(body, e.ID.String())
			if i < last {
				t.Errorf("event %s out of order", e.ID)
			}
			last = i
		}
		// An event a saga's command caused names the command and the event
		// the saga reacted to.
		second := f.Events[1]
		_, body = get(t, c, base, "/event?id="+second.ID.String())
		contains(t, body, "sent by saga", "in reaction to")
		_, body = get(t, c, base, "/event?stream="+url.QueryEscape(placed.StreamID)+"&version=1")
		contains(t, body, placed.ID.String())
		if status, _ := get(t, c, base, "/event?id=not-a-uuid"); status != 400 {
			t.Errorf("bad id: status %d, want 400", status)
		}
		if status, _ := get(t, c, base, "/event?id=00000000-0000-0000-0000-000000000001"); status != 404 {
			t.Errorf("unknown id: status %d, want 404", status)
		}
	})
	t.Run("search", func(t *testing.T) {
		for q, want := range map[string]string{
			"order-" + s.orders[1]: "/stream?id=",
			s.orders[1]:            "/correlation?id=",
			"shipment-":            "/streams?prefix=",
		} {
			resp, err := c.Get(base + "/search?q=" + url.QueryEscape(q))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, want) {
				t.Errorf("search %q went to %q, want %s…", q, loc, want)
			}
		}
	})
	t.Run("tail", func(t *testing.T) {
		status, body := get(t, c, base, "/tail?prefix=order-")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, `data-kind="tail"`, "/tail/live?")
		if strings.Contains(body, ">product-") {
			t.Error("the filtered tail shows product streams")
		}
	})
	t.Run("projections", func(t *testing.T) {
		status, body := get(t, c, base, "/projections")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "ecommerce-orders", "ecommerce-revenue", "running")
		status, body = get(t, c, base, "/projection?name=ecommerce-orders")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "OrderPlaced", "Not stopped")
		if strings.Contains(body, `id="rebuild-button"`) {
			t.Error("a read-only console offers a rebuild")
		}
		if status, _ := get(t, c, base, "/projection?name=nope"); status != 404 {
			t.Errorf("unknown projection: status %d, want 404", status)
		}
	})
	t.Run("sagas", func(t *testing.T) {
		sums, err := s.src.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		status, body := get(t, c, base, "/sagas")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		for _, sm := range sums {
			contains(t, body, sm.Name)
		}
		status, body = get(t, c, base, "/saga?name=fulfilment&status=compensated")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		insts, err := s.src.Instances(ctx, "fulfilment", saga.Query{Status: saga.Compensated})
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) == 0 {
			t.Fatal("no compensated order in the scenario")
		}
		contains(t, body, insts[0].ID)
		if strings.Contains(body, `<span class="state completed">`) {
			t.Error("the compensated filter lists completed instances")
		}
		status, body = get(t, c, base, "/saga/instance?saga=fulfilment&id="+url.QueryEscape(insts[0].ID))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		contains(t, body, "event received", "command queued", "command sent", "compensation queued", "compensated")
		if status, _ := get(t, c, base, "/saga/instance?saga=fulfilment&id=nope"); status != 404 {
			t.Errorf("unknown instance: status %d, want 404", status)
		}
		if status, _ := get(t, c, base, "/saga?name=fulfilment&status=bogus"); status != 400 {
			t.Errorf("bad status filter: status %d, want 400", status)
		}
	})
	t.Run("headers", func(t *testing.T) {
		resp, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", resp.Header)
		}
	})
}
