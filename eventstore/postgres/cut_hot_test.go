package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestHotStreamWithCutConnections: writers race with Any on one stream,
// under repeatable read as the sessions' default (so that lost races go
// through append_events in a read committed transaction of Append's own:
// BEGIN, the call, COMMIT), through a proxy that cuts every connection
// every 10 to 50 ms. Every append reported stored is in the log once,
// every one reported not stored is not, an unknown outcome retried with
// the same event IDs ends up stored once, and the stream's versions are
// 1…n.
func TestHotStreamWithCutConnections(t *testing.T) {
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
	s, _, schema := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, ResolveTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)},
		pgtest.MaxConns(writers+4), func(c *pgxpool.Config) {
			c.ConnConfig.Host = host
			c.ConnConfig.Port = uint16(must(strconv.Atoi(port)))
			c.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
		})
	ctx := t.Context()
	cutting, stop := context.WithCancel(ctx)
	var cutter sync.WaitGroup
	cutter.Go(func() {
		for range 60 {
			select {
			case <-cutting.Done():
				return
			case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond):
				proxy.Cut()
			}
		}
	})
	var mu sync.Mutex
	stored := map[uuid.UUID]bool{}
	counts := map[string]int{}
	var errs errorList
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 150 {
				evs := numbered(1 + i%3)
				_, err := s.Append(ctx, "hot", eventstore.Any, evs...)
				kind := "stored"
				if eventstore.IsOutcomeUnknown(err) {
					kind = "unknown, then stored"
					for deadline := time.Now().Add(2 * time.Minute); err != nil; {
						if time.Now().After(deadline) {
							errs.add(fmt.Errorf("writer %d: the retry of an unknown outcome keeps failing: %w", w, err))
							return
						}
						time.Sleep(10 * time.Millisecond)
						_, err = s.Append(ctx, "hot", eventstore.Any, evs...)
					}
				}
				if err != nil {
					kind = "not stored"
					if ce, ok := err.(*eventstore.ConflictError); ok && !ce.Retry {
						errs.add(fmt.Errorf("writer %d append %d: %w", w, i, err))
						return
					}
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
	t.Logf("600 Any appends on one stream, connections cut 60 times: %v", counts)

	direct, _ := pgxpool.NewWithConfig(ctx, pgtest.Config(t, schema))
	defer direct.Close()
	rows, err := direct.Query(ctx, `SELECT event_id, version FROM events WHERE stream_id = 'hot' ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id uuid.UUID
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		n++
		if v != int64(n) {
			t.Fatalf("version %d at place %d", v, n)
		}
		if !stored[id] {
			t.Errorf("event %s, of an append reported not stored, is in the log", id)
		}
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
