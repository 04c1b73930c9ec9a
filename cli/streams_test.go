package cli_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/cli"
)

// orderEvents is a fixed input for append: stable IDs, a payload, metadata
// and an event without data, as JSON Lines.
const orderEvents = `{"id": "0190a000-0000-7000-8000-000000000001", "type": "OrderPlaced", "data": {"order": "o-1", "lines": [{"sku": "A", "qty": 2}], "total": 19.5}, "metadata": {"correlation_id": "o-1", "values": {"user": "ops"}}}
{"id": "0190a000-0000-7000-8000-000000000002", "type": "OrderPaid", "data": {"amount": 19.5}}
{"id": "0190a000-0000-7000-8000-000000000003", "type": "OrderShipped"}
`

var orderIDs = []string{"0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003"}

func TestStreamsEndToEnd(t *testing.T) {
	t.Parallel()
	e := migrated(t)

	golden(t, "append", e.normalise(e.ok(orderEvents, "append", "order-1", "--expected", "no-stream"), orderIDs...))
	// An array, and a single object, work too.
	e.ok(`[{"type": "CartOpened", "data": {"cart": 1}}, {"type": "CartClosed"}]`, "append", "cart-9", "--expected", "any")
	e.ok(`{"type": "OrderPlaced", "data": {"order": "o-2"}}`, "append", "order-2", "--expected", "0")

	golden(t, "streams_list", e.normalise(e.ok("", "streams", "list")))
	if got := e.ok("", "streams", "list", "--prefix", "order-", "--limit", "1"); got != "STREAM   VERSION\norder-1  3\n" {
		t.Errorf("streams list --prefix order- --limit 1:\n%s", got)
	}
	if got := e.ok("", "streams", "list", "--after", "order-1"); got != "STREAM   VERSION\norder-2  1\n" {
		t.Errorf("streams list --after order-1:\n%s", got)
	}

	golden(t, "streams_read", e.normalise(e.ok("", "streams", "read", "order-1"), orderIDs...))
	// Flags after the stream ID, backwards from a version, with a limit.
	golden(t, "streams_read_backwards", e.normalise(e.ok("", "streams", "read", "order-1", "--backwards", "--from", "2", "--limit", "1"), orderIDs...))

	var streams []struct {
		Stream  string `json:"stream"`
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "streams", "list", "--json")), &streams); err != nil {
		t.Fatal(err)
	}
	if len(streams) != 3 || streams[0].Stream != "cart-9" || streams[0].Version != 2 || streams[1].Stream != "order-1" || streams[1].Version != 3 {
		t.Errorf("streams list --json: %+v", streams)
	}

	// streams read --json: JSON Lines, one event per line.
	type event struct {
		Stream     string          `json:"stream"`
		Version    uint64          `json:"version"`
		Position   string          `json:"position"`
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		RecordedAt string          `json:"recorded_at"`
		Data       json.RawMessage `json:"data"`
		Metadata   *struct {
			CorrelationID string            `json:"correlation_id"`
			Values        map[string]string `json:"values"`
		} `json:"metadata"`
	}
	var events []event
	sc := bufio.NewScanner(strings.NewReader(e.ok("", "--json", "streams", "read", "order-1", "--from", "2")))
	for sc.Scan() {
		var ev event
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	if len(events) != 2 {
		t.Fatalf("streams read --from 2 --json: %d events, want 2", len(events))
	}
	if ev := events[0]; ev.Stream != "order-1" || ev.Version != 2 || ev.ID != orderIDs[1] || ev.Type != "OrderPaid" ||
		string(ev.Data) != `{"amount":19.5}` || ev.Metadata != nil || !rePos.MatchString(ev.Position) || !reTime.MatchString(ev.RecordedAt) {
		t.Errorf("event 2: %+v data %s", ev, ev.Data)
	}
	if ev := events[1]; ev.Version != 3 || string(ev.Data) != "null" {
		t.Errorf("event 3: %+v data %s", ev, ev.Data)
	}
	var first event
	if err := json.Unmarshal([]byte(e.ok("", "streams", "read", "order-1", "--limit", "1", "--json")), &first); err != nil {
		t.Fatal(err)
	}
	if first.Metadata == nil || first.Metadata.CorrelationID != "o-1" || first.Metadata.Values["user"] != "ops" {
		t.Errorf("metadata of event 1: %+v", first.Metadata)
	}

	// Reading past the end of an existing stream is empty, not an error.
	if got := e.ok("", "streams", "read", "order-1", "--from", "9"); got != "" {
		t.Errorf("read past the end printed %q", got)
	}
}

func TestStreamsReadUnknownStream(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	msg := e.fails(cli.ExitNotFound, "", "streams", "read", "no-such-stream")
	if !strings.Contains(msg, `stream "no-such-stream" not found`) {
		t.Errorf("stderr %q", msg)
	}
	// With --json the error is a JSON object with the code.
	var je struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(e.fails(cli.ExitNotFound, "", "streams", "read", "no-such-stream", "--json")), &je); err != nil {
		t.Fatal(err)
	}
	if je.Code != cli.ExitNotFound || !strings.Contains(je.Error, "no-such-stream") {
		t.Errorf("--json error: %+v", je)
	}
	e.fails(cli.ExitUsage, "", "streams", "read", "bad\x01id")
	e.fails(cli.ExitUsage, "", "streams", "read")
	e.fails(cli.ExitUsage, "", "streams", "read", "a", "b")
}
