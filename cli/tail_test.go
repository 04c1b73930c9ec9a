package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/cli"
)

// startTail runs tail in the background; done receives its result.
func (e *env) startTail(ctx context.Context, args ...string) (out, errOut *syncBuffer, done chan int) {
	out, errOut, done = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	full := append([]string{"--postgres", e.url, "--schema", e.schema, "tail"}, args...)
	go func() { done <- cli.Main(ctx, full, strings.NewReader(""), out, errOut, e.opts) }()
	return out, errOut, done
}

func wait(t *testing.T, done chan int, errOut *syncBuffer) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(time.Minute):
		t.Fatalf("tail did not end; stderr %q", errOut.String())
		return -1
	}
}

func TestTailFollowsLiveWithFilters(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	// Before tail starts: not shown, once it is below the horizon.
	e.waitHead(e.appendJSON(`{"type": "OrderPlaced", "data": {"n": 0}}`, "order-0", "any"))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, errOut, done := e.startTail(ctx, "--prefix", "order-", "--type", "OrderPlaced", "--type", "OrderPaid", "--limit", "3")
	waitFor(t, "tail to start", func() bool { return strings.Contains(errOut.String(), "following the log after") })

	// Matching and non-matching events, from concurrent writers.
	errs := make(chan error, 4)
	for i := 1; i <= 4; i++ {
		go func() {
			r := e.run(fmt.Sprintf(`{"type": "Noise", "data": {"n": %d}}`, i), "append", fmt.Sprintf("cart-%d", i), "--expected", "any")
			if r.code == cli.ExitOK {
				r = e.run(fmt.Sprintf(`{"type": "OrderShipped", "data": {"n": %d}}`, i), "append", fmt.Sprintf("order-%d", i), "--expected", "any")
			}
			if r.code != cli.ExitOK {
				errs <- fmt.Errorf("append %d: exit %d: %s", i, r.code, r.stderr)
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	e.ok(`{"type": "OrderPlaced", "data": {"n": 1}}`, "append", "order-1", "--expected", "any")
	e.ok(`[{"type": "OrderPaid", "data": {"n": 1}}, {"type": "OrderPlaced", "data": {"n": 2}}]`, "append", "order-2", "--expected", "any")
	e.ok(`{"type": "OrderPlaced", "data": {"n": 3}}`, "append", "order-3", "--expected", "any") // after the limit

	if code := wait(t, done, errOut); code != cli.ExitOK {
		t.Fatalf("tail: exit %d, stderr %q", code, errOut.String())
	}
	got := e.normalise(out.String())
	want := "<TIME>  <POS>  order-1@2  OrderPlaced  {\"n\":1}\n" +
		"<TIME>  <POS>  order-2@2  OrderPaid  {\"n\":1}\n" +
		"<TIME>  <POS>  order-2@3  OrderPlaced  {\"n\":2}\n"
	if got != want {
		t.Errorf("tail printed:\n%s\nwant:\n%s", got, want)
	}
}

func TestTailStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut, done := e.startTail(ctx, "--json")
	waitFor(t, "tail to start", func() bool { return strings.Contains(errOut.String(), "following the log after") })
	e.ok(`{"type": "Ping", "data": {"n": 1}}`, "append", "p", "--expected", "no-stream")
	waitFor(t, "tail to print the event", func() bool { return strings.Contains(out.String(), `"type":"Ping"`) })
	cancel() // what SIGINT does in cmd/chronicle
	if code := wait(t, done, errOut); code != cli.ExitOK {
		t.Fatalf("tail after cancel: exit %d, stderr %q", code, errOut.String())
	}
	var ev struct {
		Stream  string          `json:"stream"`
		Version uint64          `json:"version"`
		Type    string          `json:"type"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out.String()), &ev); err != nil {
		t.Fatalf("tail --json output %q: %v", out.String(), err)
	}
	if ev.Stream != "p" || ev.Version != 1 || ev.Type != "Ping" || string(ev.Data) != `{"n":1}` {
		t.Errorf("tail --json: %+v", ev)
	}
}

func TestTailFromStartAndPosition(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	for i := range 5 {
		e.ok(fmt.Sprintf(`{"type": "E", "data": {"i": %d}}`, i), "append", "s", "--expected", fmt.Sprint(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The whole log, then from the position of the third event.
	r := e.runCtx(ctx, "", "tail", "--from", "start", "--limit", "5", "--json")
	if r.code != cli.ExitOK {
		t.Fatalf("tail --from start: exit %d: %s", r.code, r.stderr)
	}
	var positions []string
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var ev struct {
			Position string `json:"position"`
			Version  uint64 `json:"version"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Version != uint64(len(positions)+1) {
			t.Fatalf("event %d has version %d", len(positions)+1, ev.Version)
		}
		positions = append(positions, ev.Position)
	}
	if len(positions) != 5 {
		t.Fatalf("tail --from start --limit 5 printed %d events", len(positions))
	}
	r = e.runCtx(ctx, "", "tail", "--from", positions[2], "--limit", "2")
	if r.code != cli.ExitOK {
		t.Fatalf("tail --from %s: exit %d: %s", positions[2], r.code, r.stderr)
	}
	if got := e.normalise(r.stdout); got != "<TIME>  <POS>  s@4  E  {\"i\":3}\n<TIME>  <POS>  s@5  E  {\"i\":4}\n" {
		t.Errorf("tail --from %s:\n%s", positions[2], got)
	}
}
