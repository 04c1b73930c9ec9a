package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// The connection dies after the handlers wrote and before the commit: the
// batch is rolled back with the checkpoint, and the runner, claiming again
// on a new connection, applies it once.
func TestConnectionKilledBeforeCommit(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	for i := range 300 {
		appendTo(t, store, reg, fmt.Sprintf("acct-%d", i%5), Deposited{Account: fmt.Sprint(i % 5), Amount: 1})
	}
	l := newLedger(t, pool, reg, "ledger")
	var kills atomic.Int32
	var killedPID atomic.Int32
	l.setHook(func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent) error {
		if rec.Position.Commit != 150 || kills.Add(1) > 1 {
			return nil
		}
		// Make the batch's writes so far reach the server, then kill the
		// session: the commit can never happen.
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_balance VALUES ('kill', 1)`); err != nil {
			return err
		}
		pid := tx.Conn().PgConn().PID()
		killedPID.Store(int32(pid))
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Error(err)
		}
		return nil
	})
	r, err := projection.NewRunner(store, newStore(t, pool, schema, "runner"), fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up past the kill", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	if kills.Load() < 1 {
		t.Fatal("the handler never killed its connection")
	}
	holder, err := lockHolder(ctx, pool, schema, "ledger")
	if err != nil || holder == 0 || holder == killedPID.Load() {
		t.Fatalf("lock holder %d (killed %d): %v", holder, killedPID.Load(), err)
	}
	l.checkOnce(t, pool, store)
	var n int
	// The row only the killed attempt wrote was rolled back with it.
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_balance WHERE account = 'kill'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the killed batch's extra row: %d, %v", n, err)
	}
	for i := range 100 {
		appendTo(t, store, reg, "acct-0", Withdrawn{Account: "0", Amount: i % 2})
	}
	eventually(t, "live events", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	l.checkOnce(t, pool, store)
	rec, err := status(ctx, pool, schema, "ledger")
	if err != nil || rec.Handled != 400 || !rec.Owned || rec.Owner != "runner" {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

// Three runners compete for five projections: each projection has one
// owner; when an owner's connections die with its process, standbys take
// over, and every event is applied exactly once by every projection.
func TestCompetingRunnersTakeOver(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(6))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	var ledgers []*ledger
	var projs []*projection.Projection[*projpg.Tx]
	for i := range 5 {
		l := newLedger(t, pool, reg, fmt.Sprintf("p%d", i))
		if i%2 == 1 {
			l.proj.StreamPrefixes("acct-1", "acct-2")
		}
		ledgers = append(ledgers, l)
		projs = append(projs, l.proj)
	}
	stops := map[string]context.CancelFunc{}
	for i := range 3 {
		owner := fmt.Sprintf("runner-%d", i)
		r, err := projection.NewRunner(store, newStore(t, pool, schema, owner), fast, projs...)
		if err != nil {
			t.Fatal(err)
		}
		stops[owner] = start(t, r)
	}
	write := func(n int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range n {
					appendTo(t, store, reg, fmt.Sprintf("acct-%d", w), Deposited{Account: fmt.Sprint(w), Amount: 2}, Withdrawn{Account: fmt.Sprint(w), Amount: i % 2})
				}
			})
		}
		wg.Wait()
	}
	allCaughtUp := func() (bool, error) {
		for _, l := range ledgers {
			if ok, err := caughtUp(ctx, pool, schema, store, l); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	write(50)
	eventually(t, "all five to catch up", allCaughtUp)

	// Exactly one owner per projection, and it is the runner named in the
	// table.
	recs, err := projpg.ListStatus(ctx, pool, schema)
	if err != nil || len(recs) != 5 {
		t.Fatalf("status %+v, %v", recs, err)
	}
	for _, r := range recs {
		if !r.Owned || !strings.HasPrefix(r.Owner, "runner-") {
			t.Fatalf("record %+v", r)
		}
	}

	// The owner of p0 dies: its connections are killed and its process
	// stops. Writes go on meanwhile.
	victim := recs[0].Owner
	var pids []int32
	for _, r := range recs {
		if r.Owner == victim {
			pid, err := lockHolder(ctx, pool, schema, r.Name)
			if err != nil || pid == 0 {
				t.Fatalf("lock holder of %s: %d %v", r.Name, pid, err)
			}
			pids = append(pids, pid)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { write(50) })
	for _, pid := range pids {
		terminate(t, pool, pid)
	}
	// Until it stops, the victim is alive and may claim its projections
	// again on new connections (and even catch them up) before a standby
	// does: that is allowed. Once it has stopped, the standbys own every
	// projection and catch up.
	stops[victim]()
	wg.Wait()
	eventually(t, "the standbys to take over and catch up", func() (bool, error) {
		recs, err := projpg.ListStatus(ctx, pool, schema)
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if !r.Owned || r.Owner == victim || r.State != projection.Running {
				return false, nil
			}
		}
		return allCaughtUp()
	})
	for _, l := range ledgers {
		l.checkOnce(t, pool, store)
	}
	// Balances agree across the projections that see the same streams.
	if a, b := ledgers[0].checksum(t, pool), ledgers[2].checksum(t, pool); a != b {
		t.Fatalf("p0 and p2 differ: %s %s", a, b)
	}
}

// A handler that fails on one event stops the projection there, with the
// event's position and the error visible to any process; skip resumes
// after it.
func TestPoisonEventStopsWithPositionAndError(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	l := newLedger(t, pool, reg, "ledger")
	for range 120 {
		appendTo(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})
	}
	// Breaks the balance table's CHECK: the error surfaces when the batch's
	// queued statements are sent, not attributed to an event.
	poison := appendTo(t, store, reg, "acct-b", Deposited{Account: "b", Amount: 2_000_000})[0]
	for range 30 {
		appendTo(t, store, reg, "acct-a", Withdrawn{Account: "a", Amount: 1})
	}
	cps := newStore(t, pool, schema, "runner")
	r, err := projection.NewRunner(store, cps, fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "the projection to fail", func() (bool, error) {
		rec, err := status(ctx, pool, schema, "ledger")
		return rec.State == projection.Failed, err
	})
	rec, err := status(ctx, pool, schema, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	f := rec.Failure
	if f == nil || f.Position != poison || f.Stream != "acct-b" || f.Version != 1 || f.Type != "Deposited" || f.Attempts != 3 ||
		!strings.Contains(f.Error, "ledger_balance_amount_check") || rec.LastError != f.Error {
		t.Fatalf("failure %+v", f)
	}
	if rec.Checkpoint != (eventstore.Position{Commit: poison.Commit - 1, Prepare: poison.Prepare - 1}) || rec.Handled != 120 {
		t.Fatalf("checkpoint %v handled %d, want the event before %v and 120", rec.Checkpoint, rec.Handled, poison)
	}
	st, err := projection.Describe(ctx, store, rec)
	if err != nil || st[0].LagEvents != 31 || st[0].Lag <= 0 {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := projpg.Retry(ctx, pool, schema, "nope"); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("retry of an unknown projection: %v", err)
	}
	// An operator skips the event from another process.
	if err := projpg.Skip(ctx, pool, schema, "ledger"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rest", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_applied`).Scan(&rows); err != nil || rows != 150 {
		t.Fatalf("%d events applied, want 150 (all but the skipped one): %v", rows, err)
	}
	if err := projpg.Skip(ctx, pool, schema, "ledger"); !errors.Is(err, projection.ErrNotFailed) {
		t.Fatalf("skip of a running projection: %v", err)
	}
	rec, _ = status(ctx, pool, schema, "ledger")
	if rec.Failure != nil || rec.LastError == "" || rec.Handled != 150 {
		t.Fatalf("after skip: %+v", rec)
	}
}

// A projection behind 8 concurrent writers on the PostgreSQL event store
// catches up to exactly the head.
func TestCatchUpBehindConcurrentWriters(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(12))
	ctx := context.Background()
	reg := registry()
	es, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	l := newLedger(t, pool, reg, "ledger")
	r, err := projection.NewRunner(es, newStore(t, pool, schema, "runner"), fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		appendTo(t, es, reg, "acct-x", Deposited{Account: "x", Amount: 1})
	}
	start(t, r)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last eventstore.Position // the highest position any writer got
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				ps := appendTo(t, es, reg, fmt.Sprintf("acct-%d-%d", w, i%3), Deposited{Account: fmt.Sprint(w), Amount: 3},
					Withdrawn{Account: fmt.Sprint(w), Amount: 1})
				mu.Lock()
				for _, p := range ps {
					if p.After(last) {
						last = p
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The head readers see may trail the last commit while older
	// transactions are still open (the horizon); it reaches it.
	var h eventstore.Position
	eventually(t, "the head to reach the last append", func() (bool, error) {
		var err error
		h, err = es.Head(ctx)
		return h == last, err
	})
	eventually(t, "the checkpoint to reach the head", func() (bool, error) {
		rec, err := status(ctx, pool, schema, "ledger")
		if err == nil && rec.Checkpoint.After(h) {
			err = fmt.Errorf("checkpoint %v past the head %v", rec.Checkpoint, h)
		}
		return rec.Checkpoint == h, err
	})
	l.checkOnce(t, pool, es)
	var total int
	if err := pool.QueryRow(ctx, `SELECT sum(amount) FROM ledger_balance`).Scan(&total); err != nil || total != 20+8*40*2 {
		t.Fatalf("total %d, want %d: %v", total, 20+8*40*2, err)
	}
	st, err := r.Status(ctx)
	if err != nil || len(st) != 1 || st[0].Head != h || st[0].LagEvents != 0 || st[0].Lag != 0 || st[0].Handled != 20+8*80 {
		t.Fatalf("status %+v, %v (head %v)", st, err, h)
	}
}

// A rebuilt read model is identical to the one built live, table by table.
func TestRebuildEqualsLive(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(8))
	ctx := context.Background()
	reg := registry()
	es, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	l := newLedger(t, pool, reg, "ledger")
	cfg := fast
	cfg.RebuildBatchSize = 250
	r, err := projection.NewRunner(es, newStore(t, pool, schema, "runner"), cfg, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last eventstore.Position
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				vs := make([]any, 0, 10)
				for j := range 10 {
					vs = append(vs, Deposited{Account: fmt.Sprint((w + i + j) % 17), Amount: j})
				}
				ps := appendTo(t, es, reg, fmt.Sprintf("acct-%d", w), vs...)
				mu.Lock()
				if len(ps) > 0 && ps[len(ps)-1].After(last) {
					last = ps[len(ps)-1]
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	eventually(t, "the head to reach the last append", func() (bool, error) {
		h, err := es.Head(ctx)
		return h == last, err
	})
	eventually(t, "live catch-up", func() (bool, error) { return caughtUp(ctx, pool, schema, es, l) })
	live := l.checksum(t, pool)

	var reports []projection.Progress
	err = r.Rebuild(ctx, "ledger", projection.RebuildOptions{Every: 1, Progress: func(p projection.Progress) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt := l.checksum(t, pool); rebuilt != live {
		t.Fatalf("rebuilt checksum %s, live %s", rebuilt, live)
	}
	l.checkOnce(t, pool, es)
	mu.Lock()
	final := reports[len(reports)-1]
	mu.Unlock()
	if !final.Done || final.Events != 2000 || final.Position != last || final.Head != last || len(reports) < 8 ||
		!slices.IsSortedFunc(reports, func(a, b projection.Progress) int { return int(a.Events) - int(b.Events) }) {
		t.Fatalf("%d reports, last %+v", len(reports), final)
	}
	// Rate is events per second of elapsed time; ETA is positive while
	// the replay is short of the head, and zero at the end.
	withETA := 0
	for i, p := range reports {
		if p.Events > 0 && math.Abs(p.Rate*p.Elapsed.Seconds()-float64(p.Events)) > 0.5 {
			t.Fatalf("report %d: rate %.1f/s over %v for %d events", i, p.Rate, p.Elapsed, p.Events)
		}
		if p.ETA < 0 || (p.Done && p.ETA != 0) {
			t.Fatalf("report %d: ETA %v (done %v)", i, p.ETA, p.Done)
		}
		if i > 0 && p.Elapsed < reports[i-1].Elapsed {
			t.Fatalf("report %d: elapsed went back from %v to %v", i, reports[i-1].Elapsed, p.Elapsed)
		}
		if !p.Done && p.Position.Before(p.Head) && p.ETA > 0 {
			withETA++
		}
	}
	if withETA == 0 {
		t.Fatalf("no report short of the head had an ETA: %+v", reports)
	}
	rec, err := status(ctx, pool, schema, "ledger")
	if err != nil || rec.State != projection.Running || rec.Handled != 2000 {
		t.Fatalf("record %+v, %v", rec, err)
	}
	// Live again.
	appendTo(t, es, reg, "acct-0", Withdrawn{Account: "0", Amount: 1})
	eventually(t, "live after the rebuild", func() (bool, error) { return caughtUp(ctx, pool, schema, es, l) })
	l.checkOnce(t, pool, es)
}
