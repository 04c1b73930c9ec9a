package postgres_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

var screenshots = flag.String("screenshots", "", "write the browser tests' screenshots (PNG) to this directory (docs/console is what docs/console.md shows)")

// chromiumPath finds Debian's chromium (or $CHRONICLE_CHROMIUM). Without
// one the browser tests skip, except under CI=true, where they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHRONICLE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (apt-get install chromium, or set CHRONICLE_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " — CI=true, so this fails instead of skipping")
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium tab that records what must never
// happen on a console page: a script error, a dialog (an injected
// alert()), a Content-Security-Policy violation.
type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	bad []string
	// confirm answers window.confirm (the rebuild button asks).
	confirm bool
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// This network is closed: without these the browser's own
		// background connections are refused, noisily.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	entries := chromedp.Events(ctx, log.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.fail("script error: " + (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			accept := ev.Type == page.DialogTypeConfirm && b.confirm
			if !accept || ev.Type != page.DialogTypeConfirm {
				b.fail(fmt.Sprintf("a %s dialog opened: %q", ev.Type, ev.Message))
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if ev.Entry.Source == log.EntrySourceSecurity || ev.Entry.Level == log.EntryLevelError && ev.Entry.Source == log.EntrySourceJavascript {
				b.fail(fmt.Sprintf("%s %s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text))
			}
		}
	}()
	if _, err := chromedp.Call(ctx, log.Enable, struct{}{}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) fail(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bad = append(b.bad, msg)
}

// check fails the test with everything bad seen so far.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.bad {
		b.t.Error(m)
	}
	b.bad = nil
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// js evaluates expr and returns its value.
func js[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is true in the page.
func (b *browser) waitJS(what, expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for !js[bool](b, "!!("+expr+")") {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s (%s); the page at %s shows: %s", what, expr,
				js[string](b, "location.href"), js[string](b, "document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates to url and waits for sel to show.
func (b *browser) open(url, sel string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// shot writes a screenshot of the window (1280×900) when -screenshots is
// set.
func (b *browser) shot(name string) {
	b.t.Helper()
	if *screenshots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestBrowser drives a console over e-commerce data in headless Chromium:
// every page, one order's correlation chain followed by clicks, a live
// append appearing in the tail, a rebuild run from the UI until its
// progress completes, actions refused without the token, and hostile
// values rendered as text with no script of theirs running.
func TestBrowser(t *testing.T) {
	s := newShop(t, shopOptions{orders: 24, token: testToken, index: true})
	b := newBrowser(t)
	base := s.srv.URL
	ctx := context.Background()
	order := s.orders[0]
	var compensated string
	for _, id := range s.orders {
		h, err := s.src.History(ctx, "fulfilment", id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Instance.Status == "compensated" && strings.Contains(h.Instance.Reason, "shipment") {
			compensated = id
			break
		}
		if h.Instance.Status == "compensated" && compensated == "" {
			compensated = id
		}
	}

	t.Run("every page", func(t *testing.T) {
		b.t = t
		// shot: docs/console.md shows this page.
		pages := []struct {
			name, path, sel string
			shot            bool
		}{
			{"overview", "/", "#overview-projections", true},
			{"streams", "/streams?prefix=order-", "#streams", true},
			{"stream", "/stream?id=order-" + order, "#events", false},
			{"correlation", "/correlation?id=" + order, "#chain", true},
			{"tail", "/tail", "#tail", false},
			{"projections", "/projections", "#projections", false},
			{"projection", "/projection?name=" + readmodel.Orders, "#projection-status", false},
			{"sagas", "/sagas", "#sagas", false},
			{"saga", "/saga?name=fulfilment&status=compensated", "#instances", true},
			{"instance", "/saga/instance?saga=fulfilment&id=" + compensated, "#timeline", true},
			{"login", "/login", "#login-form", false},
		}
		for _, p := range pages {
			b.open(base+p.path, p.sel)
			if p.name == "overview" {
				// The live stream redraws the sparkline and the lag bars.
				b.waitJS("the overview's first live update", `document.querySelectorAll("#sparkline rect").length === 30`, 10*time.Second)
			}
			if p.shot {
				b.shot(p.name)
			}
			b.check()
		}
		var first string
		for e, err := range s.src.Events().ReadStream(ctx, "order-"+order, eventstore.ReadStreamOptions{Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			first = e.ID.String()
		}
		b.open(base+"/event?id="+first, "#payload")
		b.check()
	})

	t.Run("correlation chain", func(t *testing.T) {
		b.t = t
		f, err := s.src.Correlated(ctx, order, 0)
		if err != nil {
			t.Fatal(err)
		}
		// From the order's stream to its first event, then along its
		// correlation ID to every service's events.
		b.open(base+"/stream?id=order-"+order, "#events")
		b.do(chromedp.Click(chromedp.CSS(`#events tbody tr:last-child td:nth-child(2) a`)), chromedp.WaitVisible(chromedp.ID("payload")))
		if got := js[string](b, `document.querySelector("h1 .type").textContent`); got != "OrderPlaced" {
			t.Fatalf("first event of the order is %q", got)
		}
		b.do(chromedp.Click(chromedp.ID("correlation-link")), chromedp.WaitVisible(chromedp.ID("chain")))
		if n := js[int](b, `document.querySelectorAll("#chain a.chain-event").length`); n != len(f.Events) {
			t.Fatalf("the chain shows %d events, want %d", n, len(f.Events))
		}
		streams := js[[]string](b, `Array.from(document.querySelectorAll("#chain tbody tr td:nth-child(5) a")).map(a => a.textContent)`)
		services := map[string]bool{}
		for _, st := range streams {
			services[st[:strings.IndexByte(st, '-')]] = true
		}
		if !services["order"] || !services["product"] || !services["payment"] {
			t.Errorf("the chain passes through %v, want order, product and payment at least", services)
		}
		// Step to the second event (a saga's work), then back along its
		// cause to the order.
		b.do(chromedp.Click(chromedp.CSS(`#chain tbody tr:nth-child(2) a.chain-event`)), chromedp.WaitVisible(chromedp.ID("causation")))
		if got := js[string](b, `document.getElementById("causation").textContent`); !strings.Contains(got, "sent by saga fulfilment") {
			t.Errorf("second event's cause: %q", got)
		}
		b.do(chromedp.Click(chromedp.CSS(`a.cause-link`)), chromedp.WaitVisible(chromedp.ID("payload")))
		if got := js[string](b, `document.querySelector("h1 .type").textContent`); got != "OrderPlaced" {
			t.Errorf("the cause's cause is %q, want OrderPlaced", got)
		}
		b.shot("event-caused")
		b.check()
	})

	t.Run("live tail", func(t *testing.T) {
		b.t = t
		b.open(base+"/tail", "#tail")
		b.waitJS("the tail to go live", `document.getElementById("live-state").textContent === "live"`, 10*time.Second)
		e := eventstore.NewEvent("OrderNoted", []byte(`{"note":"appended while the tail watched"}`))
		e.Metadata.CorrelationID = "live-" + order
		if _, err := s.src.Events().Append(ctx, "order-live-tail", eventstore.Any, e); err != nil {
			t.Fatal(err)
		}
		b.waitJS("the appended event in the tail", `document.querySelector('#tail-body tr[data-id="`+e.ID.String()+`"]')`, 15*time.Second)
		if got := js[string](b, `document.querySelector('#tail-body tr[data-id="`+e.ID.String()+`"]').textContent`); !strings.Contains(got, "order-live-tail") || !strings.Contains(got, "OrderNoted") {
			t.Errorf("tail row %q", got)
		}
		b.shot("tail-live")
		b.check()
	})

	t.Run("actions refused without the token", func(t *testing.T) {
		b.t = t
		b.open(base+"/projection?name="+readmodel.Revenue, "#projection-status")
		if n := js[int](b, `document.querySelectorAll("#rebuild-button, #retry, #skip").length`); n != 0 {
			t.Errorf("%d action buttons before sign-in", n)
		}
		// A form forged in the page, and a bare POST, are both refused.
		status := js[int](b, `fetch("/projection/rebuild", {method: "POST", body: new URLSearchParams({name: "`+readmodel.Revenue+`"})}).then(r => r.status)`)
		if status != 403 {
			t.Errorf("POST without session: status %d", status)
		}
		b.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/projection/skip";
			const n = document.createElement("input"); n.name = "name"; n.value = "` + readmodel.Orders + `"; f.appendChild(n);
			document.body.appendChild(f); f.submit(); })()`))
		b.waitJS("the refusal page", `document.getElementById("error-message")`, 10*time.Second)
		if msg := js[string](b, `document.getElementById("error-message").textContent`); !strings.Contains(msg, "sign in") {
			t.Errorf("forged form: %q", msg)
		}
		// A wrong token does not sign in.
		b.open(base+"/login", "#login-form")
		b.do(chromedp.SendKeys(chromedp.ID("token"), "not-the-admin-token"), chromedp.Submit(chromedp.ID("token")))
		b.waitJS("the refused sign-in", `document.getElementById("login-failed")`, 10*time.Second)
		b.check()
	})

	t.Run("rebuild from the UI", func(t *testing.T) {
		b.t = t
		before := state(t, s, readmodel.Shipments)
		b.open(base+"/login?next="+"%2Fprojection%3Fname%3D"+readmodel.Shipments, "#login-form")
		b.do(chromedp.SendKeys(chromedp.ID("token"), testToken), chromedp.Submit(chromedp.ID("token")))
		b.waitJS("the projection page, signed in", `document.getElementById("rebuild-button")`, 10*time.Second)
		b.confirm = true
		b.do(chromedp.Click(chromedp.ID("rebuild-button")))
		b.waitJS("the rebuild's progress", `document.getElementById("rebuild-progress")`, 10*time.Second)
		b.waitJS("the rebuild's progress to complete", `document.getElementById("rebuild-state").textContent.startsWith("done")`, 60*time.Second)
		if v := js[float64](b, `document.querySelector("#rebuild-progress progress").value`); v != 1 {
			t.Errorf("progress bar at %v when done", v)
		}
		b.waitJS("the projection to run again", `document.querySelector('#projection-status [data-live="state"]').textContent === "running"`, 30*time.Second)
		after := state(t, s, readmodel.Shipments)
		if after.State != "running" || after.Handled < before.Handled {
			t.Errorf("after the rebuild: %s, handled %d (before %d)", after.State, after.Handled, before.Handled)
		}
		b.shot("rebuild")
		b.check()
	})

	t.Run("hostile values render as text", func(t *testing.T) {
		b.t = t
		const stream = `<img src=x onerror=alert(1)>"'-</script>`
		e := eventstore.NewEvent(`<script>alert(2)</script>`, []byte(`{"name":"</script><script>alert(3)</script>","html":"<img src=x onerror=alert(4)>","link":"javascript:alert(5)"}`))
		e.Metadata = eventstore.Metadata{CorrelationID: `"><svg onload=alert(6)>`, CausationID: `javascript:alert(7)`,
			Values: map[string]string{`<b onmouseover=alert(8)>`: `</pre><script>alert(9)</script>`}}
		b.open(base+"/tail", "#tail")
		b.waitJS("the tail to go live", `document.getElementById("live-state").textContent === "live"`, 10*time.Second)
		if _, err := s.src.Events().Append(ctx, stream, eventstore.Any, e); err != nil {
			t.Fatal(err)
		}
		b.waitJS("the hostile event in the live tail", `document.querySelector('#tail-body tr[data-id="`+e.ID.String()+`"]')`, 15*time.Second)
		noMarkup := func(where string) {
			t.Helper()
			if n := js[int](b, `document.querySelectorAll('img, svg:not(#sparkline), b, main script').length`); n != 0 {
				t.Errorf("%s: %d injected elements", where, n)
			}
			if n := js[int](b, `document.scripts.length`); n != 1 {
				t.Errorf("%s: %d scripts, want the console's one", where, n)
			}
			if n := js[int](b, `document.querySelectorAll('a[href^="javascript:"]').length`); n != 0 {
				t.Errorf("%s: %d javascript: links", where, n)
			}
		}
		noMarkup("live tail")
		if !js[bool](b, `document.getElementById("tail-body").innerText.includes("<img src=x onerror=alert(1)>")`) {
			t.Error("live tail: the stream ID is not shown as text")
		}
		for _, p := range []struct{ path, sel, text string }{
			{"/tail", "#tail", "<script>alert(2)</script>"},
			{"/streams?prefix=" + "%3Cimg", "#streams", "<img src=x onerror=alert(1)>"},
			{"/stream?id=" + strings.NewReplacer("<", "%3C", ">", "%3E", `"`, "%22", "'", "%27", " ", "%20", "=", "%3D", "/", "%2F").Replace(stream), "#events", "<script>alert(2)</script>"},
			{"/event?id=" + e.ID.String(), "#payload", "</script><script>alert(3)</script>"},
			{"/correlation?id=%22%3E%3Csvg%20onload%3Dalert(6)%3E", "#chain", "<script>alert(2)</script>"},
			{"/search?q=" + e.ID.String(), "#payload", "</pre><script>alert(9)</script>"},
		} {
			b.open(base+p.path, p.sel)
			noMarkup(p.path)
			if !js[bool](b, `document.querySelector("main").innerText.includes(`+jsString(p.text)+`)`) {
				t.Errorf("%s: %q is not shown as text", p.path, p.text)
			}
		}
		b.shot("hostile")
		b.check()
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
