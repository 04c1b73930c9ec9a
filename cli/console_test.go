package cli_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/cli"
)

// TestConsoleServes starts `console` on a free port, reads its pages, and
// stops it by cancelling its context.
func TestConsoleServes(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	e.waitHead(e.appendJSON(`{"type": "OrderPlaced", "data": {"n": 1}, "metadata": {"correlation_id": "o-1"}}`, "order-1", "any"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	args := []string{"--postgres", e.url, "--schema", e.schema, "console", "--addr", "127.0.0.1:0"}
	go func() { done <- cli.Main(ctx, args, strings.NewReader(""), out, errOut, e.opts) }()
	addr := ""
	re := regexp.MustCompile(`console on (http://127\.0\.0\.1:\d+/)`)
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			addr = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("console ended with %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("console did not start: %q", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errOut.String(), "read-only") {
		t.Errorf("stderr %q does not say the console is read-only", errOut.String())
	}
	for path, want := range map[string]string{
		"":                   "Head position",
		"streams":            "order-1",
		"stream?id=order-1":  "OrderPlaced",
		"correlation?id=o-1": "OrderPlaced",
		"projections":        "No projection has a checkpoint yet",
		"sagas":              "No saga has run yet",
	} {
		resp, err := http.Get(addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("/%s: status %d, want %q in the page: %s", path, resp.StatusCode, want, b)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Errorf("exit %d after interrupt: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("console did not stop")
	}
}

func TestConsoleRefusesAShortToken(t *testing.T) {
	e := migrated(t)
	t.Setenv(cli.EnvConsoleToken, "short")
	r := e.run("", "console", "--addr", "127.0.0.1:0")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "AdminToken") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
