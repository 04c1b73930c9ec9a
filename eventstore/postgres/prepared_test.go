package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
)

// The single-statement append is prepared under a name of its own only in
// pgx's default mode (it must stay prepared through the unique violation
// of a lost race); under every other mode the application may have chosen
// that describes statements (a transaction-pooling proxy in front of the
// server, say) the store prepares nothing by name and appends all the
// same: one, several and many events, a refused expected version, an
// idempotent retry, and writers racing on one stream.
//
// In the default mode the store runs its statement on the wire, encoding
// the parameters itself (Store.insertWire), unless the pool has a tracer,
// which must see every statement: then it goes through pgx, and the
// tracer sees the appends.
func TestAppendUnderEveryQueryExecMode(t *testing.T) {
	type mode struct {
		mode   pgx.QueryExecMode
		tracer bool
	}
	for _, m := range []mode{{pgx.QueryExecModeCacheStatement, false}, {pgx.QueryExecModeCacheStatement, true},
		{pgx.QueryExecModeCacheDescribe, false}, {pgx.QueryExecModeDescribeExec, false}} {
		name := m.mode.String()
		if m.tracer {
			name += "-traced"
		}
		t.Run(name, func(t *testing.T) {
			mode := m.mode
			tracer := &appendTracer{}
			s, pool, _ := newStore(t, pgtest.MaxConns(4), func(c *pgxpool.Config) {
				c.ConnConfig.DefaultQueryExecMode = mode
				if m.tracer {
					c.ConnConfig.Tracer = tracer
				}
			})
			ctx := context.Background()
			conn, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 3, 12} {
				wired, err := espg.Wired(ctx, s, conn.Conn(), n)
				if err != nil {
					t.Fatal(err)
				}
				if want := mode == pgx.QueryExecModeCacheStatement && !m.tracer; wired != want {
					t.Errorf("the append of %d events on the wire: %v, want %v", n, wired, want)
				}
			}
			conn.Release()
			version := uint64(0)
			for _, n := range []int{1, 3, 12} {
				evs := numbered(n)
				res, err := s.Append(ctx, "modes", eventstore.Exact(version), evs...)
				if err != nil {
					t.Fatalf("%d events: %v", n, err)
				}
				again, err := s.Append(ctx, "modes", eventstore.Exact(version), evs...)
				if err != nil || again.Version != res.Version {
					t.Fatalf("the retry of %d events: %v, %v; want the first result %v", n, again, err, res)
				}
				if _, err := s.Append(ctx, "modes", eventstore.Exact(version), numbered(n)...); !isVersionConflict(err, res.Version) {
					t.Fatalf("%d events at a stale version: %v, want a conflict at %d", n, err, res.Version)
				}
				version = res.Version
			}
			const writers, each = 4, 15
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for range writers {
				wg.Go(func() {
					for range each {
						if _, err := s.Append(ctx, "modes-hot", eventstore.Any, numbered(2)...); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			n := 0
			for e, err := range s.ReadStream(ctx, "modes-hot", eventstore.ReadStreamOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; e.Version != uint64(n) {
					t.Fatalf("version %d at place %d", e.Version, n)
				}
			}
			if n != writers*each*2 {
				t.Fatalf("%d events in the hot stream, want %d", n, writers*each*2)
			}
			var named int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'chronicle\_append\_%'`).Scan(&named); err != nil {
				t.Fatal(err)
			}
			if want := mode == pgx.QueryExecModeCacheStatement; (named > 0) != want {
				t.Fatalf("%d append statements prepared by name on a connection, want some: %v", named, want)
			}
			if traced := tracer.appends.Load(); m.tracer && traced < writers*each {
				t.Fatalf("the tracer saw %d append statements, want at least %d", traced, writers*each)
			}
		})
	}
	// Without the server's parameter types pgx cannot encode the event
	// IDs: New refuses such a pool rather than fail every append later.
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		pool, schema := pgtest.Pool(t, func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = mode })
		if _, err := espg.New(pool, espg.Config{Schema: schema}); err == nil || !strings.Contains(err.Error(), "DefaultQueryExecMode") {
			t.Errorf("New on a pool in %v mode: %v, want it refused", mode, err)
		}
	}
}

// appendTracer counts the single-statement appends pgx runs.
type appendTracer struct{ appends atomic.Int64 }

func (a *appendTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "chronicle_append_") {
		a.appends.Add(1)
	}
	return ctx
}

func (a *appendTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func isVersionConflict(err error, actual uint64) bool {
	var ce *eventstore.ConflictError
	return errors.As(err, &ce) && ce.Actual == actual && ce.EventID == [16]byte{}
}

// A connection whose prepared statements were dropped behind pgx's back
// (DEALLOCATE ALL, as a proxy's reset or a DISCARD ALL does) keeps
// appending: the store prepares its statement again and runs it once more.
func TestAppendAfterDeallocateAll(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(1))
	ctx := context.Background()
	for i, n := range []int{1, 3, 12} {
		if _, err := s.Append(ctx, fmt.Sprintf("dealloc-%d", i), eventstore.NoStream, numbered(n)...); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `DEALLOCATE ALL`, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("dealloc-%d", i), eventstore.Exact(uint64(n)), numbered(n)...); err != nil {
			t.Fatalf("%d events after DEALLOCATE ALL: %v", n, err)
		}
	}
}
