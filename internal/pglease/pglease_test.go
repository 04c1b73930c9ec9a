package pglease_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/pgtest"
)

func setup(t *testing.T) (pglease.Config, string, *pgx.Conn) {
	t.Helper()
	schema := pgtest.Schema(t)
	cfg := pgtest.Config(t, schema)
	conn, err := pgx.Connect(t.Context(), pgtest.URL()) // the operator's session
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return pglease.Config{Conn: cfg.ConnConfig, Retry: 5 * time.Millisecond}, schema, conn
}

func acquire(t *testing.T, key pglease.Key, cfg pglease.Config) *pglease.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, err := pglease.Acquire(ctx, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Release(context.Background()) })
	return l
}

func held(t *testing.T, conn *pgx.Conn, kind, schema, name string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(t.Context(), `SELECT `+pglease.Held(kind, schema, `$1::text`), name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// The lock is where the documentation says an operator finds it.
func TestKeyFormatInPgLocks(t *testing.T) {
	cfg, schema, op := setup(t)
	l := acquire(t, pglease.Key{Kind: pglease.Projection, Schema: schema, Name: "orders"}, cfg)
	var pid int32
	if err := l.Do(t.Context(), func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	}); err != nil {
		t.Fatal(err)
	}
	var found int32
	err := op.QueryRow(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
		AND classid = hashtext('chronicle.projection:"' || $1 || '"')::oid AND objid = hashtext('orders')::oid`, schema).Scan(&found)
	if err != nil || found != pid {
		t.Fatalf("pg_locks: holder %d (%v), want the lease's backend %d", found, err, pid)
	}
	if !held(t, op, pglease.Projection, schema, "orders") || held(t, op, pglease.Projection, schema, "other") || held(t, op, pglease.Saga, schema, "orders") {
		t.Fatal("Held does not tell this lease from others")
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if held(t, op, pglease.Projection, schema, "orders") {
		t.Fatal("held after release")
	}
	select {
	case <-l.Lost():
	default:
		t.Fatal("Lost not closed after release")
	}
	if err := l.Do(t.Context(), func(context.Context, *pgx.Conn) error { return nil }); !errors.Is(err, pglease.ErrLost) {
		t.Fatalf("Do after release: %v", err)
	}
}

// Goroutines (each with its own connection, as processes would) race for
// one key many times: never two holders at once, every one gets turns.
func TestOneHolderAtATime(t *testing.T) {
	cfg, schema, _ := setup(t)
	key := pglease.Key{Kind: pglease.Saga, Schema: schema, Name: "fulfilment"}
	var holders, turns atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 10 {
				l, err := pglease.Acquire(t.Context(), key, cfg)
				if err != nil {
					t.Error(err)
					return
				}
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				turns.Add(1)
				time.Sleep(time.Millisecond)
				holders.Add(-1)
				if err := l.Release(t.Context()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if turns.Load() != 60 {
		t.Fatalf("%d turns, want 60", turns.Load())
	}
}

// When the holder's session dies, a standby takes over; the old holder's
// Do reports the loss, and a lease with a check interval notices it while
// idle.
func TestStandbyTakesOverWhenTheHolderDies(t *testing.T) {
	for _, check := range []time.Duration{0, 10 * time.Millisecond} {
		cfg, schema, op := setup(t)
		cfg.Check = check
		key := pglease.Key{Kind: pglease.Relay, Schema: schema, Name: "orders-out"}
		first := acquire(t, key, cfg)
		var pid int32
		if err := first.Do(t.Context(), func(ctx context.Context, c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
		}); err != nil {
			t.Fatal(err)
		}
		standby := make(chan *pglease.Lease, 1)
		go func() {
			l, err := pglease.Acquire(t.Context(), key, cfg)
			if err != nil {
				t.Error(err)
			}
			standby <- l
		}()
		select {
		case <-standby:
			t.Fatal("a standby acquired a held lease")
		case <-first.Lost():
			t.Fatal("the holder lost a live lease")
		case <-time.After(50 * time.Millisecond):
		}
		// Wait until the holder's backend has exited: pg_terminate_backend
		// only signals it, and a query sent before it acts would succeed.
		var ok bool
		if err := op.QueryRow(t.Context(), `SELECT pg_terminate_backend($1, 30000)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate the holder %d: %v %v", pid, ok, err)
		}
		if check > 0 {
			select {
			case <-first.Lost():
			case <-time.After(30 * time.Second): // a hang detector
				t.Fatal("the check did not notice the dead connection")
			}
		}
		err := first.Do(t.Context(), func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, `SELECT 1`)
			return err
		})
		if !errors.Is(err, pglease.ErrLost) {
			t.Fatalf("Do on a dead lease: %v", err)
		}
		<-first.Lost()
		var l *pglease.Lease
		select {
		case l = <-standby:
		case <-time.After(30 * time.Second): // a hang detector
			t.Fatal("the standby did not take over")
		}
		if l == nil {
			t.FailNow()
		}
		if err := l.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// A process of an older version locks only the legacy 64-bit key; a lease
// takes both keys, so the two never own a name at once, either way round.
func TestLegacyKeyExcludesOldProcesses(t *testing.T) {
	cfg, schema, old := setup(t)
	for _, kind := range []string{pglease.Projection, pglease.Saga} {
		legacy := "chronicle-" + kind + ":" + schema + ":x"
		var ok bool
		if err := old.QueryRow(t.Context(), `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, legacy).Scan(&ok); err != nil || !ok {
			t.Fatalf("old process lock: %v %v", ok, err)
		}
		if !held(t, old, kind, schema, "x") {
			t.Fatalf("%s: Held misses an old process's lock", kind)
		}
		// Try until the attempt has found the lock taken (it logs that it
		// waits as a standby), then give up: a deadline could end it
		// before it even connected on a loaded machine.
		ctx, cancel := context.WithCancel(t.Context())
		waiting := cfg
		waiting.Logger = slog.New(onLog{cancel})
		_, err := pglease.Acquire(ctx, pglease.Key{Kind: kind, Schema: schema, Name: "x"}, waiting)
		cancel()
		if err != context.Canceled {
			t.Fatalf("%s: acquired while an old process holds the legacy key (err %v)", kind, err)
		}
		if err := old.QueryRow(t.Context(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, legacy).Scan(&ok); err != nil || !ok {
			t.Fatalf("old process unlock: %v %v", ok, err)
		}
		l := acquire(t, pglease.Key{Kind: kind, Schema: schema, Name: "x"}, cfg)
		if err := old.QueryRow(t.Context(), `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, legacy).Scan(&ok); err != nil || ok {
			t.Fatalf("%s: an old process got the legacy key while a lease is held (%v %v)", kind, ok, err)
		}
		if err := l.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// The waiting attempt gave the new key back: nothing is left locked.
	var n int
	if err := old.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = hashtext('chronicle.saga:"' || $1 || '"')::oid`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d locks left (%v)", n, err)
	}
}

// onLog is a slog handler that calls fn on every record.
type onLog struct{ fn func() }

func (h onLog) Enabled(context.Context, slog.Level) bool  { return true }
func (h onLog) Handle(context.Context, slog.Record) error { h.fn(); return nil }
func (h onLog) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h onLog) WithGroup(string) slog.Handler             { return h }

// A ping slower than the check interval (a loaded machine) does not end a
// live lease; a connection that stops answering does, after PingTimeout.
// (Its server session, and the lock, end when pgx gives up closing it
// politely, 15 s later: not waited for here.)
func TestSlowPingKeepsTheLease(t *testing.T) {
	cfg, schema, _ := setup(t)
	cfg.Check = 10 * time.Millisecond
	var delay atomic.Int64
	var slowReads atomic.Int32
	plain := cfg
	cfg.Conn = cfg.Conn.Copy()
	dial := cfg.Conn.DialFunc
	cfg.Conn.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &slowConn{Conn: c, delay: &delay, slow: &slowReads}, nil
	}
	key := pglease.Key{Kind: pglease.Relay, Schema: schema, Name: "slow"}
	first := acquire(t, key, cfg)

	delay.Store(int64(100 * time.Millisecond)) // ten check intervals per answer
	for slowReads.Load() < 5 {
		select {
		case <-first.Lost():
			t.Fatalf("a slow ping ended the lease (after %d slow reads)", slowReads.Load())
		case <-time.After(time.Millisecond):
		}
	}
	delay.Store(0)
	ctx, cancel := context.WithCancel(t.Context())
	waiting := plain
	waiting.Logger = slog.New(onLog{cancel})
	if _, err := pglease.Acquire(ctx, key, waiting); err != context.Canceled {
		t.Fatalf("a standby acquired the lease of a slow holder (err %v)", err)
	}
	cancel()

	delay.Store(int64(time.Hour)) // the connection stops answering
	select {
	case <-first.Lost():
	case <-time.After(30 * time.Second): // a hang detector
		t.Fatal("a connection that stopped answering kept the lease")
	}
	if err := first.Do(t.Context(), func(context.Context, *pgx.Conn) error { return nil }); !errors.Is(err, pglease.ErrLost) {
		t.Fatalf("Do after the check gave up: %v", err)
	}
}

// slowConn holds each read back by delay (while positive), giving up at
// the read deadline as a socket would.
type slowConn struct {
	net.Conn
	delay *atomic.Int64
	slow  *atomic.Int32

	mu       sync.Mutex
	deadline time.Time
}

func (c *slowConn) SetDeadline(t time.Time) error {
	c.setDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *slowConn) SetReadDeadline(t time.Time) error {
	c.setDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *slowConn) setDeadline(t time.Time) {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
}

func (c *slowConn) Read(b []byte) (int, error) {
	if d := time.Duration(c.delay.Load()); d > 0 {
		c.slow.Add(1)
		until := time.Now().Add(d)
		for time.Now().Before(until) {
			c.mu.Lock()
			dl := c.deadline
			c.mu.Unlock()
			if !dl.IsZero() && time.Now().After(dl) {
				return 0, os.ErrDeadlineExceeded
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return c.Conn.Read(b)
}
