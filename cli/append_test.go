package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/cli"
)

func TestAppendExpectedVersions(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ev := `{"type": "Noted", "data": {"n": 1}}`
	e.fails(cli.ExitNotFound, "", "streams", "read", "s")
	e.fails(cli.ExitConflict, ev, "append", "s", "--expected", "exists")
	e.ok(ev, "append", "s", "--expected", "no-stream")
	e.fails(cli.ExitConflict, ev, "append", "s", "--expected", "no-stream")
	e.ok(ev, "append", "s", "--expected", "exists")
	msg := e.fails(cli.ExitConflict, ev+ev, "append", "s", "--expected", "1")
	if !strings.Contains(msg, "expected exactly 1, actual version 2") {
		t.Errorf("conflict message %q should say the expected and actual versions", msg)
	}
	e.ok(ev, "append", "s", "--expected", "any")

	var res struct {
		Stream  string `json:"stream"`
		Version uint64 `json:"version"`
		Events  []struct {
			Version  uint64 `json:"version"`
			Position string `json:"position"`
			ID       string `json:"id"`
			Type     string `json:"type"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(e.ok(ev+"\n"+ev, "append", "s", "--expected", "3", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Stream != "s" || res.Version != 5 || len(res.Events) != 2 || res.Events[0].Version != 4 || res.Events[1].Version != 5 ||
		res.Events[0].Type != "Noted" || !reUUID.MatchString(res.Events[0].ID) || !rePos.MatchString(res.Events[1].Position) {
		t.Fatalf("append --json: %+v", res)
	}
	// The conflicts wrote nothing: five events, versions 1 to 5.
	if got := e.ok("", "streams", "list"); got != "STREAM  VERSION\ns       5\n" {
		t.Errorf("after the conflicts:\n%s", got)
	}

	// Retrying an append with the same event IDs is idempotent.
	fixed := `{"id": "0190b000-0000-7000-8000-00000000000a", "type": "Noted"}`
	e.ok(fixed, "append", "s", "--expected", "5")
	e.ok(fixed, "append", "s", "--expected", "5")
	if got := e.ok("", "streams", "list", "--json"); got != `[{"stream":"s","version":6}]`+"\n" {
		t.Errorf("after an idempotent retry: %s", got)
	}
}

func TestAppendBadInput(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	for name, c := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"no expected":     {`{"type": "A"}`, []string{"append", "s"}, "needs --expected"},
		"bad expected":    {`{"type": "A"}`, []string{"append", "s", "--expected", "-1"}, "--expected"},
		"no stream":       {`{"type": "A"}`, []string{"append", "--expected", "any"}, "usage"},
		"empty stdin":     {"", []string{"append", "s", "--expected", "any"}, "no events on stdin"},
		"not JSON":        {"type: A", []string{"append", "s", "--expected", "any"}, "not JSON"},
		"no type":         {`{"data": {}}`, []string{"append", "s", "--expected", "any"}, `no "type"`},
		"unknown field":   {`{"type": "A", "payload": {}}`, []string{"append", "s", "--expected", "any"}, "payload"},
		"scalar":          {`42`, []string{"append", "s", "--expected", "any"}, "want a JSON object"},
		"bad type":        {`{"type": "has\nnewline"}`, []string{"append", "s", "--expected", "any"}, "invalid event"},
		"truncated":       {`{"type": "A"}{"type":`, []string{"append", "s", "--expected", "any"}, "event 2"},
		"duplicate IDs":   {`{"id": "0190b000-0000-7000-8000-00000000000b", "type": "A"}{"id": "0190b000-0000-7000-8000-00000000000b", "type": "A"}`, []string{"append", "s", "--expected", "any"}, "duplicate"},
		"bad stream name": {`{"type": "A"}`, []string{"append", "", "--expected", "any"}, "invalid stream ID"},
	} {
		t.Run(name, func(t *testing.T) {
			msg := e.fails(cli.ExitUsage, c.stdin, c.args...)
			if !strings.Contains(msg, c.want) {
				t.Errorf("stderr %q, want it to mention %q", msg, c.want)
			}
		})
	}
	// Nothing was written by any of them.
	if got := e.ok("", "streams", "list", "--json"); got != "[]\n" {
		t.Errorf("streams after bad input: %s", got)
	}
}
