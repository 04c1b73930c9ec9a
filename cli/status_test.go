package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/cli"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

type storeStatus struct {
	Schema        string `json:"schema"`
	Head          string `json:"head"`
	Horizon       uint64 `json:"horizon"`
	Epoch         uint64 `json:"epoch"`
	NeedsReanchor bool   `json:"needs_reanchor"`
	Migrations    []struct {
		Component string `json:"component"`
		Pending   bool   `json:"pending"`
	} `json:"migrations"`
}

func (e *env) status() storeStatus {
	e.t.Helper()
	var st storeStatus
	if err := json.Unmarshal([]byte(e.ok("", "status", "--json")), &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitHead waits until the store's head (what readers can reach) is pos:
// a transaction anywhere on the server (other tests) can hold it back.
func (e *env) waitHead(pos string) {
	e.t.Helper()
	waitFor(e.t, "the head to reach "+pos, func() bool { return e.status().Head == pos })
}

// appendJSON appends stdin to stream and returns the last event's position.
func (e *env) appendJSON(stdin, stream, expected string) string {
	e.t.Helper()
	var res struct {
		Events []struct {
			Position string `json:"position"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(e.ok(stdin, "append", stream, "--expected", expected, "--json")), &res); err != nil {
		e.t.Fatal(err)
	}
	return res.Events[len(res.Events)-1].Position
}

// TestReanchorAfterRestore simulates a dump restored on a server whose
// transaction ids are lower than the stored ones, and repairs it.
func TestReanchorAfterRestore(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	var appended struct {
		Events []struct {
			Position string `json:"position"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(e.ok(`{"type": "A"}{"type": "B"}`, "append", "s", "--expected", "no-stream", "--json")), &appended); err != nil {
		t.Fatal(err)
	}
	// Head is what readers can reach: the append, once no transaction
	// anywhere on the server holds the horizon below it.
	var st storeStatus
	waitFor(t, "the head to reach the append", func() bool {
		st = e.status()
		return st.Head == appended.Events[1].Position
	})
	if st.Schema != e.schema || st.Head != appended.Events[1].Position || st.NeedsReanchor || st.Epoch != 0 ||
		len(st.Migrations) != len(espg.Migrations.Migrations) {
		t.Fatalf("status --json: %+v (appended at %v)", st, appended)
	}
	for _, m := range st.Migrations {
		if m.Component != "eventstore" || m.Pending {
			t.Fatalf("status --json: migration %+v, want the event store's, applied", m)
		}
	}
	if got := e.ok("", "reanchor"); !strings.Contains(got, "nothing to do") {
		t.Errorf("reanchor on a healthy store: %q", got)
	}

	// The "restore": stored transaction ids jump far ahead of the server's.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE `+pgmigrate.Table(e.schema, "events")+` SET transaction_id = transaction_id + 1000000000`); err != nil {
		t.Fatal(err)
	}
	st = e.status()
	if !st.NeedsReanchor {
		t.Fatalf("status after a restore: %+v, want needs_reanchor", st)
	}
	if got := e.ok("", "status"); !strings.Contains(got, "YES") || !strings.Contains(got, "reanchor --schema "+e.schema) ||
		!strings.Contains(got, "every append is refused") {
		t.Errorf("status text should tell to reanchor, and that appends are refused until then:\n%s", got)
	}
	// Until then every append is refused, to a new stream too (it used to
	// be stored behind the restored log, where no subscriber would see it).
	for _, stream := range []string{"s", "new"} {
		r := e.run(`{"type": "Early"}`, "append", stream, "--expected", "any")
		if r.code != cli.ExitConflict || !strings.Contains(r.stderr, "reanchor") {
			t.Errorf("append to %s before reanchor: exit %d, stderr %q; want %d naming reanchor", stream, r.code, r.stderr, cli.ExitConflict)
		}
	}

	var re struct {
		Before  uint64 `json:"epoch_before"`
		After   uint64 `json:"epoch_after"`
		Changed bool   `json:"changed"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "reanchor", "--json")), &re); err != nil {
		t.Fatal(err)
	}
	if !re.Changed || re.Before != 0 || re.After == 0 {
		t.Fatalf("reanchor --json: %+v", re)
	}
	if st = e.status(); st.NeedsReanchor || st.Epoch != re.After {
		t.Fatalf("status after reanchor: %+v", st)
	}
	// Appends to the old stream work again and sort after the stored events.
	e.ok(`{"type": "C"}`, "append", "s", "--expected", "2")
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r := e.runCtx(tctx, "", "tail", "--from", "start", "--limit", "3")
	if r.code != cli.ExitOK {
		t.Fatalf("tail: exit %d: %s", r.code, r.stderr)
	}
	if got := e.normalise(r.stdout); got != "<TIME>  <POS>  s@1  A  null\n<TIME>  <POS>  s@2  B  null\n<TIME>  <POS>  s@3  C  null\n" {
		t.Errorf("log after reanchor:\n%s", got)
	}
	if got := e.ok("", "reanchor"); !strings.Contains(got, "nothing to do") {
		t.Errorf("second reanchor: %q", got)
	}
}
