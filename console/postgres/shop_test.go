package postgres_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
	pgbackend "github.com/chronicle-go/chronicle/examples/ecommerce/scenario/postgres"
)

// testToken is the admin token of the consoles under test.
const testToken = "test-admin-token-0123456789"

// shop is a running e-commerce application on a fresh schema, after
// orders placed and settled, with a console over its database.
type shop struct {
	schema string
	pool   *pgxpool.Pool
	app    *scenario.App
	src    *consolepg.Source
	con    *console.Console
	srv    *httptest.Server
	orders []string
}

type shopOptions struct {
	orders int
	token  string
	// index applies the console's correlation index migration.
	index bool
}

// newShop runs the e-commerce example on a fresh schema: o.orders orders
// (with the example's share of failures) placed and settled, its
// projections and sagas left running, and a console over the database
// given the application's projection runner.
func newShop(t *testing.T, o shopOptions) *shop {
	t.Helper()
	schema := pgtest.Schema(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pg, err := pgbackend.Open(ctx, pgtest.URL(), pgbackend.Config{Schema: schema, MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	app, err := scenario.NewApp(pg.Backend, scenario.AppConfig{PaymentDeadline: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wait := app.Start(ctx)
	t.Cleanup(func() { cancel(); wait(); pg.Close() })
	plan := scenario.NewPlan(o.orders, 7, scenario.DefaultRates)
	if err := app.Seed(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if err := app.Place(ctx, plan, 4); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	if err := app.WaitSettled(wctx, len(plan.Orders), nil); err != nil {
		// Any transaction in the cluster that stays open (another
		// package's test) holds every reader back: say which one.
		if hr, ok := pg.Backend.Events.(eventstore.HorizonReader); ok {
			if h, herr := hr.Horizon(context.Background()); herr == nil && h.Holder != nil {
				t.Fatalf("%v; the store's horizon is held by %s", err, h.Holder)
			}
		}
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	src, err := consolepg.New(ctx, pool, consolepg.Config{Schema: schema, Projections: app.ReadModels.Runner(),
		Sagas: []*saga.Engine{app.Fulfilment, app.Carriers}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	if o.index {
		if err := src.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	con, err := console.New(console.Config{Events: src.Events(), Index: src, Projections: src, Sagas: src,
		AdminToken: o.token, Title: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(func() { srv.Close(); _ = con.Close() })
	s := &shop{schema: schema, pool: pool, app: app, src: src, con: con, srv: srv}
	for _, p := range plan.Orders {
		s.orders = append(s.orders, p.Place.OrderID)
	}
	return s
}

// client is a browser-like HTTP client: it keeps cookies and does not
// follow redirects, so tests see them.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// get fetches path and returns the status and body.
func get(t *testing.T, c *http.Client, base, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf returns the CSRF token of a page's forms.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page")
	}
	return m[1]
}

func post(t *testing.T, c *http.Client, base, path string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// login signs c in with token and reports the response's status.
func login(t *testing.T, c *http.Client, base, token string) int {
	t.Helper()
	_, body := get(t, c, base, "/login")
	status, _, _ := post(t, c, base, "/login", url.Values{"csrf": {csrf(t, body)}, "token": {token}, "next": {"/"}})
	return status
}

func contains(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
