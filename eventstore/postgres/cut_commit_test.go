package postgres_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestCommitTxCutDuringCommit: the connection is cut while the server runs
// a COMMIT (a deferred constraint trigger makes it take 300 ms), so the
// transaction commits and its reply is lost (as happened, now and then, to
// Append's own read committed transaction in TestHotStreamWithCutConnections). pgx reports that as "conn
// closed" (pgconn.ErrConnClosed, which claims SafeToRetry: its reader saw
// the read fail, closed the connection, then failed on the closed one), and
// CommitTx took it for a commit never sent: it returned the error, "not
// committed", for a transaction that was. CommitTx must report it committed
// (or an unknown outcome), never not committed.
func TestCommitTxCutDuringCommit(t *testing.T) {
	proxy, err := tcpproxy.Start(pgAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	host, port, _ := net.SplitHostPort(proxy.Addr())
	s, pool, schema := newStoreConfig(t, espg.Config{ResolveTimeout: 5 * time.Second}, func(c *pgxpool.Config) {
		c.ConnConfig.Host = host
		c.ConnConfig.Port = uint16(must(strconv.Atoi(port)))
	})
	ctx := t.Context()
	direct, err := pgxpool.NewWithConfig(ctx, pgtest.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, err := direct.Exec(ctx, `CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW EXECUTE FUNCTION slow_commit()`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ev := eventstore.NewEvent("E", []byte(`{}`))
		res, err := s.AppendTx(ctx, tx, "cut", eventstore.Any, ev)
		if err != nil {
			t.Fatal(err)
		}
		// Cut, and refuse new connections for a moment: pgx's close sends
		// a cancel request on a new connection, which would stop the
		// COMMIT instead of losing its reply.
		time.AfterFunc(100*time.Millisecond, func() { proxy.Refuse(true); proxy.Cut() })
		time.AfterFunc(150*time.Millisecond, func() { proxy.Refuse(false) })
		cerr := s.CommitTx(ctx, tx, res)
		// The server may still be committing: look (bounded) until the
		// event is there.
		var stored bool
		for deadline := time.Now().Add(5 * time.Second); !stored && time.Now().Before(deadline); {
			if err := direct.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)`, ev.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if !stored {
				time.Sleep(20 * time.Millisecond)
			}
		}
		t.Logf("commit %d: CommitTx %v; stored %v", i, cerr, stored)
		if stored && cerr != nil && !eventstore.IsOutcomeUnknown(cerr) {
			t.Fatalf("commit %d: CommitTx reported %v, but the transaction committed", i, cerr)
		}
		if !stored && cerr == nil {
			// (Checked after 5 s of looking.)
			t.Fatalf("commit %d: CommitTx reported committed, but nothing is stored", i)
		}
	}
}
