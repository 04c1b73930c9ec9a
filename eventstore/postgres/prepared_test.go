package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
func TestAppendUnderEveryQueryExecMode(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			s, pool, _ := newStore(t, pgtest.MaxConns(4), func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = mode })
			ctx := context.Background()
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
