package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// TestWakeUpsOnlyWhileListened: a store sends its wake-up NOTIFYs for other
// processes only while some process listens (a NOTIFY is a transaction with
// a commit record: a process that only appends spent one every
// NotifyInterval for nobody). A second store on the schema, polling once an
// hour, stands for another process: while its subscription runs, its
// LISTEN connection holds the listeners' lock, the writer's wake-ups are
// sent, and they deliver the writer's events; before it subscribes and
// after it closes, the writer sends none.
func TestWakeUpsOnlyWhileListened(t *testing.T) {
	// Bounded, so that a broken store fails rather than hangs.
	ctx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	writer, pool, schema := newStoreConfig(t, espg.Config{PollInterval: time.Hour, NotifyInterval: time.Millisecond})
	appendOne := func(stream string) {
		t.Helper()
		if _, err := writer.Append(ctx, stream, eventstore.Any, eventstore.Event{Type: "Woken", Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// ran waits until the writer's notifier has run its statement n times
	// and returns how many NOTIFYs it sent.
	ran := func(n int64) int64 {
		t.Helper()
		for {
			tried, sent := espg.WakeUps(writer)
			if tried >= n {
				return sent
			}
			if ctx.Err() != nil {
				t.Fatalf("the notifier ran %d times, want %d", tried, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// listeners waits until want connections hold the schema's listeners'
	// lock.
	listeners := func(want int) {
		t.Helper()
		for {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks
				WHERE locktype = 'advisory' AND objsubid = 1 AND granted
				  AND (classid::bigint << 32 | objid::bigint) = hashtextextended('chronicle.listeners:' || $1, 0)`,
				pgx.Identifier{schema}.Sanitize()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == want {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%d connections hold the listeners' lock, want %d", n, want)
			}
			time.Sleep(time.Millisecond)
		}
	}

	appendOne("before")
	if sent := ran(1); sent != 0 {
		t.Fatalf("nobody listens, yet the writer sent %d NOTIFYs", sent)
	}

	reader, err := espg.New(pool, espg.Config{Schema: schema, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	events := follow(t, rctx, reader, eventstore.Position{})
	if e := next(t, events); e.StreamID != "before" {
		t.Fatalf("first event from %s", e.StreamID)
	}
	listeners(1)
	tried, _ := espg.WakeUps(writer)
	for i := range 3 {
		// Only a wake-up delivers these: the reader polls once an hour.
		appendOne("while")
		if e := next(t, events); e.StreamID != "while" || e.Version != uint64(i+1) {
			t.Fatalf("got %s v%d, want while v%d", e.StreamID, e.Version, i+1)
		}
	}
	if sent := ran(tried + 1); sent == 0 {
		t.Fatal("a process listens, yet the writer sent no NOTIFY")
	}
	quiet(t, events, 50*time.Millisecond, "after the writer's events")
	cancel()
	reader.Close()

	listeners(0)
	tried, sent := espg.WakeUps(writer)
	appendOne("after")
	if now := ran(tried + 1); now != sent {
		t.Fatalf("nobody listens any more, yet the writer sent %d more NOTIFYs", now-sent)
	}
}
