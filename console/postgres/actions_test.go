package postgres_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/google/uuid"
)

// poison appends an OrderPlaced whose payload does not decode: the order
// summaries projection stops at it, the fulfilment saga parks it.
func poison(t *testing.T, s *shop) eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	e := eventstore.NewEvent("OrderPlaced", []byte(`{"order_id":"o-poison","lines":"not a list"}`))
	e.Metadata.CorrelationID = "o-poison"
	if _, err := s.src.Events().Append(ctx, "order-o-poison", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the order projection to stop at the poison event", func() bool {
		st, err := s.src.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st {
			if p.Name == readmodel.Orders && p.State == projection.Failed {
				return true
			}
		}
		return false
	})
	for ev, err := range s.src.Events().ReadStream(ctx, "order-o-poison", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	t.Fatal("poison event not read back")
	return eventstore.RecordedEvent{}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func state(t *testing.T, s *shop, name string) projection.Status {
	t.Helper()
	st, err := s.src.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no projection %q", name)
	return projection.Status{}
}

// TestActions drives retry, skip and rebuild through the console, and
// checks that every way of sending them without the admin session or a
// valid CSRF token is refused and changes nothing.
func TestActions(t *testing.T) {
	s := newShop(t, shopOptions{orders: 8, token: testToken})
	base := s.srv.URL
	bad := poison(t, s)
	name := readmodel.Orders
	page := "/projection?name=" + url.QueryEscape(name)

	t.Run("refused", func(t *testing.T) {
		anon := client(t)
		_, body := get(t, anon, base, page)
		contains(t, body, "o-poison", "Sign in")
		if strings.Contains(body, `id="retry"`) || strings.Contains(body, `id="rebuild-button"`) {
			t.Error("actions offered before sign-in")
		}
		_, lbody := get(t, anon, base, "/login")
		token := csrf(t, lbody)
		// Signed out, with a valid CSRF token.
		status, _, msg := post(t, anon, base, "/projection/skip", url.Values{"csrf": {token}, "name": {name}})
		if status != http.StatusForbidden || !strings.Contains(msg, "sign in") {
			t.Errorf("signed out: status %d", status)
		}
		// A wrong token does not sign in.
		if status := login(t, anon, base, "wrong-token-wrong-token"); status != http.StatusSeeOther {
			t.Errorf("wrong token: status %d", status)
		}
		if status, _, _ := post(t, anon, base, "/projection/skip", url.Values{"csrf": {token}, "name": {name}}); status != http.StatusForbidden {
			t.Errorf("after a wrong token: status %d", status)
		}
		// Signed in, without or with a forged CSRF token.
		admin := client(t)
		if status := login(t, admin, base, testToken); status != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d", status)
		}
		for _, tok := range []string{"", strings.Repeat("0", 64), token} {
			if status, _, _ := post(t, admin, base, "/projection/skip", url.Values{"csrf": {tok}, "name": {name}}); status != http.StatusForbidden {
				t.Errorf("CSRF token %q: status %d", tok, status)
			}
		}
		// Signed in, with a valid token, from another site.
		_, body = get(t, admin, base, page)
		req, _ := http.NewRequest("POST", base+"/projection/skip", strings.NewReader(url.Values{"csrf": {csrf(t, body)}, "name": {name}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site: status %d", resp.StatusCode)
		}
		// A GET never acts.
		if status, _ := get(t, admin, base, "/projection/skip?name="+name); status < 400 {
			t.Errorf("GET: status %d", status)
		}
		if p := state(t, s, name); p.State != projection.Failed || p.Failure == nil || p.Failure.EventID != bad.ID {
			t.Fatalf("a refused request changed the projection: %+v", p.Record)
		}
	})

	admin := client(t)
	if status := login(t, admin, base, testToken); status != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", status)
	}
	act := func(t *testing.T, action string) (int, string) {
		t.Helper()
		_, body := get(t, admin, base, page)
		status, loc, _ := post(t, admin, base, "/projection/"+action, url.Values{"csrf": {csrf(t, body)}, "name": {name}})
		return status, loc
	}

	t.Run("retry", func(t *testing.T) {
		before := state(t, s, name).Failure
		status, loc := act(t, "retry")
		if status != http.StatusSeeOther || !strings.Contains(loc, "done=retry") {
			t.Fatalf("retry: status %d, location %q", status, loc)
		}
		// The event still does not decode: the projection stops at it
		// again, after new attempts.
		waitFor(t, 30*time.Second, "the retried event to fail again", func() bool {
			p := state(t, s, name)
			return p.State == projection.Failed && p.Failure != nil && p.Failure.At.After(before.At)
		})
		if p := state(t, s, name); p.Failure.EventID != bad.ID {
			t.Errorf("stopped at %s, want the poison event %s", p.Failure.EventID, bad.ID)
		}
	})
	t.Run("skip", func(t *testing.T) {
		status, loc := act(t, "skip")
		if status != http.StatusSeeOther || !strings.Contains(loc, "done=skip") {
			t.Fatalf("skip: status %d, location %q", status, loc)
		}
		waitFor(t, 30*time.Second, "the projection to run past the skipped event", func() bool {
			p := state(t, s, name)
			return p.State == projection.Running && !p.Checkpoint.Before(bad.Position)
		})
		// Skipping a running projection is a conflict, not a success.
		if status, _ := act(t, "skip"); status != http.StatusConflict {
			t.Errorf("second skip: status %d, want 409", status)
		}
	})
	t.Run("retry a parked saga event", func(t *testing.T) {
		ctx := context.Background()
		// The fulfilment saga parked the poison OrderPlaced: it does not
		// decode.
		var parked []saga.Parked
		waitFor(t, 30*time.Second, "the saga to park the poison event", func() bool {
			var err error
			if parked, err = s.src.Parked(ctx, "fulfilment"); err != nil {
				t.Fatal(err)
			}
			return len(parked) == 1
		})
		if parked[0].EventID != bad.ID {
			t.Fatalf("parked %s, want the poison event %s", parked[0].EventID, bad.ID)
		}
		_, body := get(t, client(t), base, "/saga?name=fulfilment")
		if strings.Contains(body, `class="retry-parked"`) {
			t.Error("retry offered before sign-in")
		}
		_, body = get(t, admin, base, "/saga?name=fulfilment")
		contains(t, body, `class="retry-parked"`, bad.ID.String())
		retry := func(id string) (int, string) {
			_, body := get(t, admin, base, "/saga?name=fulfilment")
			status, loc, _ := post(t, admin, base, "/saga/retry", url.Values{"csrf": {csrf(t, body)}, "name": {"fulfilment"}, "event": {id}})
			return status, loc
		}
		// It still does not decode: parked again, once.
		status, loc := retry(bad.ID.String())
		if status != http.StatusSeeOther || !strings.Contains(loc, "done=again") {
			t.Fatalf("retry: status %d, location %q", status, loc)
		}
		_, body = get(t, admin, base, loc)
		contains(t, body, "failed again and is parked again")
		if parked, _ = s.src.Parked(ctx, "fulfilment"); len(parked) != 1 || parked[0].EventID != bad.ID {
			t.Errorf("after the retry: %d parked events", len(parked))
		}
		// An event that is not parked: a conflict.
		if status, _ := retry(uuid.NewString()); status != http.StatusConflict {
			t.Errorf("retry of an event not parked: status %d", status)
		}
	})
	t.Run("rebuild", func(t *testing.T) {
		before := state(t, s, readmodel.Revenue)
		rpage := "/projection?name=" + url.QueryEscape(readmodel.Revenue)
		_, body := get(t, admin, base, rpage)
		status, loc, _ := post(t, admin, base, "/projection/rebuild", url.Values{"csrf": {csrf(t, body)}, "name": {readmodel.Revenue}})
		if status != http.StatusSeeOther || !strings.Contains(loc, "done=rebuild") {
			t.Fatalf("rebuild: status %d, location %q", status, loc)
		}
		// Follow the live progress until it reports the rebuild done.
		resp, err := admin.Get(base + "/projection/live?name=" + url.QueryEscape(readmodel.Revenue))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("live: content type %q", ct)
		}
		sc := bufio.NewScanner(resp.Body)
		done := false
		deadline := time.Now().Add(60 * time.Second)
		for !done && sc.Scan() && time.Now().Before(deadline) {
			line := sc.Text()
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"rebuild":`) {
				if strings.Contains(line, `"error":`) {
					t.Fatalf("rebuild failed: %s", line)
				}
				done = strings.Contains(line, `"done":true`) && strings.Contains(line, `"percent":"100%"`)
			}
		}
		if !done {
			t.Fatal("the live progress never reported the rebuild done")
		}
		after := state(t, s, readmodel.Revenue)
		if after.State != projection.Running || after.Handled < before.Handled {
			t.Errorf("after the rebuild: state %s, handled %d (before %d)", after.State, after.Handled, before.Handled)
		}
		_, body = get(t, admin, base, rpage)
		contains(t, body, `id="rebuild-progress"`, "done")
	})
}
