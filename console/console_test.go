package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/console"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// hostile are the values an attacker controls: stream IDs, event types,
// payloads and metadata, each trying to break out of its context.
const (
	hostileStream = `<img src=x onerror=alert(1)>"'-</script>`
	hostileType   = `<script>alert(2)</script>`
)

var hostilePayload = []byte(`{"name":"</script><script>alert(3)</script>","html":"<img src=x onerror=alert(4)>","href":"javascript:alert(5)"}`)

func hostileLog(t *testing.T) *memory.Store {
	t.Helper()
	store := memory.New(memory.Config{})
	t.Cleanup(func() { _ = store.Close() })
	e := eventstore.NewEvent(hostileType, hostilePayload)
	e.Metadata = eventstore.Metadata{CorrelationID: `"><svg onload=alert(6)>`, CausationID: `javascript:alert(7)`,
		Values: map[string]string{`<b onmouseover=alert(8)>`: `</pre><script>alert(9)</script>`}}
	if _, err := store.Append(context.Background(), hostileStream, eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	return store
}

func fetch(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestEscaping renders every page that shows attacker-controlled values and
// checks that none of them reaches the page as markup.
func TestEscaping(t *testing.T) {
	store := hostileLog(t)
	c, err := console.New(console.Config{Events: store})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	var id string
	for e, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		id = e.ID.String()
	}
	for _, path := range []string{
		"/", "/streams", "/streams?prefix=" + url.QueryEscape("<img"), "/stream?id=" + url.QueryEscape(hostileStream),
		"/event?id=" + id, "/correlation?id=" + url.QueryEscape(`"><svg onload=alert(6)>`), "/tail",
		"/tail?prefix=" + url.QueryEscape(hostileStream), "/stream?id=" + url.QueryEscape("<script>nope</script>"),
	} {
		status, _, body := fetch(t, srv, path)
		if status >= 500 {
			t.Errorf("%s: status %d", path, status)
		}
		for _, raw := range []string{"<img src=x", "<script>alert", "<svg onload", "<b onmouseover", "</pre><script>", "<script>nope"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: %q reaches the page unescaped", path, raw)
			}
		}
		if strings.Contains(body, `href="javascript:`) {
			t.Errorf("%s: a javascript: link", path)
		}
	}
	_, _, body := fetch(t, srv, "/event?id="+id)
	for _, want := range []string{"&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(2)&lt;/script&gt;", "alert(3)", "&lt;/pre&gt;&lt;script&gt;alert(9)"} {
		if !strings.Contains(body, want) {
			t.Errorf("event page lacks the escaped %q", want)
		}
	}
}

// TestReadOnly: without an admin token no action is offered and every
// POST is refused.
func TestReadOnly(t *testing.T) {
	store := hostileLog(t)
	c, err := console.New(console.Config{Events: store})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c)
	defer srv.Close()
	for _, path := range []string{"/projection/retry", "/projection/skip", "/projection/rebuild", "/login"} {
		resp, err := http.PostForm(srv.URL+path, url.Values{"name": {"x"}, "token": {"anything-at-all-here"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	_, _, body := fetch(t, srv, "/")
	if !strings.Contains(body, "read-only") || strings.Contains(body, "sign in") {
		t.Error("the read-only console does not say so")
	}
}

func TestConfig(t *testing.T) {
	store := memory.New(memory.Config{})
	defer store.Close()
	for _, cfg := range []console.Config{
		{},
		{Events: store, Prefix: "console"},
		{Events: store, Prefix: "/console/"},
		{Events: store, PageSize: console.MaxPageSize + 1},
		{Events: store, AdminToken: "short"},
		{Events: store, Timeout: -1},
	} {
		if _, err := console.New(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	// Mounted under a prefix, every link carries it.
	c, err := console.New(console.Config{Events: store, Prefix: "/ops/console"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mux := http.NewServeMux()
	mux.Handle("/ops/console/", http.StripPrefix("/ops/console", c))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	status, _, body := fetch(t, srv, "/ops/console/")
	if status != 200 || !strings.Contains(body, `href="/ops/console/streams"`) || !strings.Contains(body, `src="/ops/console/static/console.js"`) {
		t.Errorf("status %d; links without the prefix", status)
	}
	if status, _, _ := fetch(t, srv, "/ops/console/static/console.css"); status != 200 {
		t.Errorf("stylesheet: status %d", status)
	}
}
