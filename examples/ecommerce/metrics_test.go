package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
)

// TestMetricsAddr runs the example with -metrics-addr and scrapes
// /metrics as Prometheus would: while the application runs (the gauges of
// its projections and sagas), and after the run (the counters of what it
// did), until it is interrupted.
func TestMetricsAddr(t *testing.T) {
	o, err := parse([]string{"-orders", "30", "-quiet", "-metrics-addr", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := &lockedBuffer{}
	re := regexp.MustCompile(`metrics on (http://127\.0\.0\.1:\d+/metrics)`)
	url := func() string {
		if m := re.FindStringSubmatch(errs.String()); m != nil {
			return m[1]
		}
		return ""
	}
	scrape := func() string {
		resp, err := http.Get(url())
		if err != nil {
			t.Errorf("scrape: %v", err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("scrape: status %d", resp.StatusCode)
		}
		return string(b)
	}
	gauges := []string{
		`chronicle_projection_lag{`, `chronicle_projection_lag_duration_seconds{`, `chronicle_projection_failed{`,
		`chronicle_saga_instances{`, `chronicle_saga_outbox_pending{`, `chronicle_saga_outbox_oldest_age_seconds{`, `chronicle_saga_deadlines_due{`,
	}
	hasAll := func(s string, wants []string) bool {
		for _, w := range wants {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}
	// The runners, engines and relays start in their own goroutines and
	// register their gauges as they begin to run, so the scrape while
	// running is retried until they all have (or the deadline passes and
	// the checks below report what is missing).
	var during string
	o.cfg.Started = func(*scenario.App) error {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if during = scrape(); hasAll(during, gauges) || time.Now().After(deadline) || t.Failed() {
				return nil
			}
		}
	}
	done := make(chan int, 1)
	go func() { done <- runOpts(ctx, o, io.Discard, errs) }()
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(errs.String(), "until interrupted"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end: %s", errs.String())
		}
	}
	after := scrape()
	for _, want := range gauges {
		if !strings.Contains(during, want) {
			t.Errorf("while running, /metrics has no %s", want)
		}
	}
	for _, want := range []string{
		`chronicle_store_appends_total{`, `chronicle_store_events_appended_total{`, `chronicle_store_append_duration_seconds_bucket{`,
		`chronicle_command_duration_seconds_count{`, `chronicle_saga_events_handled_total{`, `chronicle_saga_commands_sent_total{`,
		`chronicle_projection_events_applied_total{`, `chronicle_relay_messages_published_total{`, `chronicle_inbox_messages_applied_total{`,
		`service_name="ecommerce"`,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("after the run, /metrics has no %s", want)
		}
	}
	if t.Failed() {
		t.Logf("during:\n%s\nafter:\n%s", grep(during, "chronicle_"), grep(after, "chronicle_"))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, errs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the example did not stop")
	}
}

// grep returns the lines of s holding sub, without comments.
func grep(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
