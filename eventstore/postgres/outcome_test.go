package postgres_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/pgtest"
)

var deadlineAppends = flag.Int("deadline-appends", 400, "appends per writer in TestAppendsUnderDeadlines")

// reported is what an append under a deadline was reported as.
type reported struct {
	stored    bool // nil error (or a retry after an unknown outcome)
	positions []eventstore.Position
	unknown   bool // the first answer was an unknown outcome
}

// TestAppendsUnderDeadlines: 8 writers × 400 appends, each under a random
// deadline of 0–40 ms, so that many are cut short while the server runs
// them (before the fix, about 40 % of the appends that returned
// context.DeadlineExceeded had committed). Writers append to streams of
// their own at Exact versions (one, three or twelve events: the three shapes
// of the single statement) and to shared streams with Any (whose lost races
// go through append_events), and every fifth append re-sends the writer's
// previous events (an idempotent retry, through append_events). Then:
//
//   - every append reported stored is in the log exactly once, at the
//     positions reported;
//   - no append reported not stored (a context error) is in the log;
//   - an outcome reported unknown was retried with the same event IDs and
//     is then stored once.
func TestAppendsUnderDeadlines(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of appends")
	}
	const writers = 8
	s, pool, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond}, pgtest.MaxConns(writers+4))
	ctx := t.Context()

	var mu sync.Mutex
	appends := map[uuid.UUID]reported{} // by the append's first event ID
	events := map[uuid.UUID]uuid.UUID{} // event ID → its append's first ID
	counts := map[string]int{}
	var wg sync.WaitGroup
	var errs errorList
	for w := range writers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			own := fmt.Sprintf("own-%d", w)
			var version uint64
			var previous []eventstore.Event
			for i := range *deadlineAppends {
				stream, expected := own, eventstore.ExpectedVersion(eventstore.Exact(version))
				evs := numbered([]int{1, 3, 12}[rnd.IntN(3)])
				retry := false
				switch {
				case i%5 == 4 && previous != nil:
					retry, evs = true, previous
					stream, expected = own, nil // set below
				case i%3 == 0:
					stream, expected = fmt.Sprintf("shared-%d", i%2), eventstore.Any
				}
				if retry {
					// Re-send the previous stored append of the own stream:
					// the expected version it was stored after.
					expected = eventstore.Exact(version - uint64(len(evs)))
				}
				dctx, cancel := context.WithTimeout(ctx, time.Duration(rnd.IntN(41))*time.Millisecond)
				res, err := s.Append(dctx, stream, expected, evs...)
				cancel()
				r := reported{}
				switch {
				case err == nil:
					r.stored, r.positions = true, res.Positions
				case eventstore.IsOutcomeUnknown(err):
					r.unknown = true
					if errors.Is(err, context.DeadlineExceeded) {
						errs.add(fmt.Errorf("an unknown outcome matches context.DeadlineExceeded: %v", err))
					}
					res, err = s.Append(ctx, stream, expected, evs...)
					if err != nil {
						errs.add(fmt.Errorf("writer %d: the retry of an unknown outcome: %w", w, err))
						return
					}
					r.stored, r.positions = true, res.Positions
				case errors.Is(err, context.DeadlineExceeded):
				default:
					errs.add(fmt.Errorf("writer %d append %d to %s: %w", w, i, stream, err))
					return
				}
				mu.Lock()
				switch {
				case retry && r.stored:
					counts["retry stored"]++
					// The original's result, nothing new.
					if orig := appends[evs[0].ID]; fmt.Sprint(orig.positions) != fmt.Sprint(r.positions) {
						errs.add(fmt.Errorf("writer %d: a retry returned %v, the original %v", w, r.positions, orig.positions))
					}
				case retry:
					counts["retry cut short"]++
				default:
					appends[evs[0].ID] = r
					for _, e := range evs {
						events[e.ID] = evs[0].ID
					}
					switch {
					case r.unknown:
						counts["unknown, then stored"]++
					case r.stored:
						counts["stored"]++
					default:
						counts["not stored"]++
					}
				}
				mu.Unlock()
				if r.stored && !retry {
					if stream == own {
						version += uint64(len(evs))
					}
					if stream == own {
						previous = evs
					}
				}
			}
		})
	}
	wg.Wait()
	errs.check(t)
	t.Logf("%d appends under deadlines of 0-40 ms: %v", writers**deadlineAppends, counts)
	if counts["not stored"] == 0 || counts["stored"] == 0 {
		t.Fatalf("the deadlines cut no append short, or all of them (%v): the test proves nothing", counts)
	}

	// The log, read directly: every stored append once, at its positions;
	// nothing of the others.
	rows, err := pool.Query(ctx, `SELECT event_id, transaction_id, position FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]eventstore.Position{}
	for rows.Next() {
		var id uuid.UUID
		var p eventstore.Position
		if err := rows.Scan(&id, &p.Commit, &p.Prepare); err != nil {
			t.Fatal(err)
		}
		if _, dup := seen[id]; dup {
			t.Fatalf("event %s stored twice", id)
		}
		seen[id] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	stored := 0
	for id, first := range events {
		r := appends[first]
		_, ok := seen[id]
		switch {
		case r.stored && !ok:
			t.Errorf("event %s of an append reported stored is not in the log", id)
		case !r.stored && ok:
			t.Errorf("event %s of an append reported not stored (context.DeadlineExceeded) is in the log", id)
		case ok:
			stored++
		}
	}
	if stored != len(seen) {
		t.Errorf("the log holds %d events, the stored appends %d", len(seen), stored)
	}
	at := make(map[eventstore.Position]uuid.UUID, len(seen))
	for id, p := range seen {
		at[p] = id
	}
	for first, r := range appends {
		for i, p := range r.positions {
			if id, ok := at[p]; !ok || (i == 0 && id != first) {
				t.Errorf("append %s reported position %v for its event %d, which holds %v", first, p, i, id)
			}
		}
	}
}

// errorList collects errors from goroutines.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorList) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, err := range l.errs {
		if i == 10 {
			t.Errorf("... and %d more", len(l.errs)-10)
			break
		}
		t.Error(err)
	}
	if len(l.errs) > 0 {
		t.FailNow()
	}
}

// TestAppendsWithCutConnections: appends through a TCP proxy that cuts
// every connection every 10 to 50 milliseconds (100 times), so that statements are cut off
// after they were sent (the server may still commit them) as well as
// before. Every append that returns no error is in the log once, every one
// that returns an error other than an unknown outcome is not in it, and an
// unknown outcome retried with the same event IDs ends up stored once.
func TestAppendsWithCutConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of appends")
	}
	proxy, err := tcpproxy.Start(pgAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	host, port, _ := net.SplitHostPort(proxy.Addr())
	const writers = 4
	s, pool, schema := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, ResolveTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}, // failed wake-ups, by the hundred
		pgtest.MaxConns(writers+4), func(c *pgxpool.Config) {
			c.ConnConfig.Host = host
			c.ConnConfig.Port = uint16(must(strconv.Atoi(port)))
		})
	_ = pool
	ctx := t.Context()

	cutting, stop := context.WithCancel(ctx)
	var cutter sync.WaitGroup
	// At most 100 cuts: on a loaded machine reconnecting takes long enough
	// that endless cuts could starve the writers; after them the appends
	// go through.
	cutter.Go(func() {
		for range 100 {
			select {
			case <-cutting.Done():
				return
			case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond):
				proxy.Cut()
			}
		}
	})
	var mu sync.Mutex
	stored := map[uuid.UUID]bool{} // event ID → reported stored
	counts := map[string]int{}
	var errs errorList
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("cut-%d", w)
			var version uint64
			for i := range 300 {
				evs := numbered(1 + i%3)
				res, err := s.Append(ctx, stream, eventstore.Exact(version), evs...)
				kind := "stored"
				if eventstore.IsOutcomeUnknown(err) {
					kind = "unknown, then stored"
					for deadline := time.Now().Add(2 * time.Minute); err != nil; {
						if time.Now().After(deadline) {
							errs.add(fmt.Errorf("writer %d: the retry of an unknown outcome keeps failing: %w", w, err))
							return
						}
						time.Sleep(10 * time.Millisecond)
						res, err = s.Append(ctx, stream, eventstore.Exact(version), evs...)
					}
				}
				if err != nil {
					kind = "not stored"
					if ce, ok := errors.AsType[*eventstore.ConflictError](err); ok && !ce.Retry {
						errs.add(fmt.Errorf("writer %d append %d: %w (an append reported not stored was stored?)", w, i, err))
						return
					}
				} else {
					version = res.Version
				}
				mu.Lock()
				counts[kind]++
				for _, e := range evs {
					stored[e.ID] = err == nil
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	stop()
	cutter.Wait()
	errs.check(t)
	t.Logf("1,200 appends, connections cut 100 times, every 10-50 ms: %v", counts)
	if counts["not stored"]+counts["unknown, then stored"] == 0 {
		t.Fatalf("no append was cut short (%v): the cuts did not land", counts)
	}

	// Read the log on a connection of its own, around the proxy.
	direct, _ := pgxpool.NewWithConfig(ctx, pgtest.Config(t, schema))
	defer direct.Close()
	var n int
	rows, err := direct.Query(ctx, `SELECT event_id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !stored[id] {
			t.Errorf("event %s, of an append reported not stored, is in the log", id)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, ok := range stored {
		if ok {
			want++
		}
	}
	if n != want {
		t.Fatalf("the log holds %d events, the appends reported stored %d", n, want)
	}
}

// pgAddr is the test server's "host:port".
func pgAddr(t testing.TB) string {
	cfg := pgtest.Config(t, "public")
	return net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCommitTxUnderDeadlines: a transaction that appended with AppendTx,
// committed with CommitTx under a random deadline of 0–0.8 ms (so that many
// commits are cut off after COMMIT was sent), is reported committed exactly
// when its events are in the log; an unknown outcome, run again with the
// same event IDs, ends up stored once. One in nine deadlines has passed
// before CommitTx is called (COMMIT is never sent): on a quiet machine a
// commit cut off in flight is found stored and reported committed, so
// without those the "not committed" side would rarely be exercised.
func TestCommitTxUnderDeadlines(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(8))
	ctx := t.Context()
	counts := map[string]int{}
	stored := map[uuid.UUID]bool{}
	for i := range 300 {
		stream := fmt.Sprintf("tx-%d", i)
		evs := numbered(1 + i%3)
		commit := func(d time.Duration) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.Background())
			res, err := s.AppendTx(ctx, tx, stream, eventstore.NoStream, evs...)
			if err != nil {
				return err
			}
			cctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return s.CommitTx(cctx, tx, res)
		}
		err := commit(time.Duration(rand.IntN(900)-100) * time.Microsecond)
		switch {
		case err == nil:
			counts["committed"]++
		case eventstore.IsOutcomeUnknown(err):
			counts["unknown, then committed"]++
			if err := commit(time.Minute); err != nil {
				t.Fatalf("transaction %d: the retry of an unknown outcome: %v", i, err)
			}
		case errors.Is(err, context.DeadlineExceeded):
			counts["not committed"]++
		default:
			t.Fatalf("transaction %d: %v", i, err)
		}
		for _, e := range evs {
			stored[e.ID] = err == nil || eventstore.IsOutcomeUnknown(err)
		}
	}
	t.Logf("300 transactions committed under deadlines of 0-0.8 ms: %v", counts)
	if counts["not committed"] == 0 || counts["committed"] == 0 {
		t.Fatalf("the deadlines cut no commit short, or all of them (%v): the test proves nothing", counts)
	}
	rows, err := pool.Query(ctx, `SELECT event_id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !stored[id] {
			t.Errorf("event %s, of a transaction reported not committed, is in the log", id)
		}
		n++
	}
	want := 0
	for _, ok := range stored {
		if ok {
			want++
		}
	}
	if n != want {
		t.Fatalf("the log holds %d events, the committed transactions %d", n, want)
	}
}
