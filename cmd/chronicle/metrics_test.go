package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/pgtest"
)

// chronicle --metrics-addr serves /metrics while a command runs: tail's
// subscription reads the events appended meanwhile (by another process),
// and the scrape counts them.
func TestMetricsAddr(t *testing.T) {
	schema := pgtest.Schema(t)
	if cmd, _, errOut := command(schema, "migrate"); cmd.Run() != nil {
		t.Fatalf("migrate: %s", errOut.String())
	}
	cmd, out, errOut := command(schema, "--metrics-addr", "127.0.0.1:0", "tail")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// tail follows the log from its head: append once it does.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), "following the log") {
		if time.Now().After(deadline) {
			t.Fatalf("tail did not start: %q", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	app, _, appErr := command(schema, "append", "s-1", "--expected", "any")
	app.Stdin = strings.NewReader(`{"type":"Placed","data":{}}` + "\n" + `{"type":"Paid","data":{}}` + "\n")
	if err := app.Run(); err != nil {
		t.Fatalf("append: %v %s", err, appErr.String())
	}
	re := regexp.MustCompile(`metrics on (http://127\.0\.0\.1:\d+/metrics)`)
	var url string
	for url == "" || !strings.Contains(out.String(), "Paid") {
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("tail with --metrics-addr: stderr %q, stdout %q", errOut.String(), out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := regexp.MustCompile(`chronicle_store_events_read_total\{[^}]*chronicle_operation="subscribe"[^}]*\} 2\b`)
	if !want.Match(body) || !strings.Contains(string(body), `service_name="chronicle-cli"`) {
		t.Fatalf("/metrics does not count the 2 events tail read:\n%s", body)
	}
	_ = cmd.Process.Signal(os.Interrupt)
}
