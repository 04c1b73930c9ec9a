package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rulesStore is a migrated store on its own schema, for the tests in this
// package that drive its statements directly.
func rulesStore(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	s, err := New(pool, Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// As the store's first append does, so that the single statement
	// writes (see Store.stamp).
	if restored, err := s.checkRestored(context.Background(), pool); err != nil || restored {
		t.Fatalf("Reanchor check: restored %v, %v", restored, err)
	}
	return s, pool
}

// TestStatementFiles: every file in sql/ is a statement the store uses,
// every statement comes from a file, and each renders to SQL alone (no
// template left, no comment lines).
func TestStatementFiles(t *testing.T) {
	st, err := newStatements("some_schema")
	if err != nil {
		t.Fatal(err)
	}
	files := st.files()
	names, err := fs.Glob(sqlFiles, "sql/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, ok := files[path.Base(name)]; !ok {
			t.Errorf("%s is not a statement of the store", name)
		}
	}
	if len(names) != len(files) {
		t.Errorf("%d files in sql/, %d statements", len(names), len(files))
	}
	for name, text := range files {
		switch {
		case *text == "":
			t.Errorf("%s renders empty", name)
		case strings.Contains(*text, "{{") || strings.Contains(*text, "\n--") || strings.HasPrefix(*text, "--"):
			t.Errorf("%s still holds a template or comment line:\n%s", name, *text)
		case !strings.Contains(*text, `"some_schema"`) && strings.Contains(*text, "events"):
			t.Errorf("%s names events outside the schema:\n%s", name, *text)
		}
	}
	if _, err := newStatements(`x"; DROP TABLE y; --`); err == nil {
		t.Error("newStatements accepted a schema name that is not an identifier")
	}
}

// TestStatementsPrepare: every statement is valid SQL on a migrated
// schema (PostgreSQL parses and plans it without running it).
func TestStatementsPrepare(t *testing.T) {
	s, pool := rulesStore(t)
	ctx := context.Background()
	c, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	for name, text := range s.sql.files() {
		if strings.HasPrefix(*text, "LOCK") {
			continue // a utility statement: nothing to prepare
		}
		if _, err := c.Conn().Prepare(ctx, "", *text); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAppendRulesAgree drives the append's three sources of rules through
// every expected-version kind and every outcome, so that they cannot drift
// apart: the Go side (the kind* and status* constants, the expected
// versions' Satisfied, appendArgs.result), the single-statement append
// (sql/append_*.sql) and the append_events function (migrations). Each case
// runs the function and the single statement on the same state, each in a
// transaction rolled back afterwards; then the order guard, a store that
// needs Reanchor, and a lost race of the single statement.
func TestAppendRulesAgree(t *testing.T) {
	s, pool := rulesStore(t)
	ctx := context.Background()
	ev := func(id uuid.UUID) eventstore.Event {
		return eventstore.Event{ID: id, Type: "Ruled", Data: []byte(`{"n":1}`)}
	}
	fresh := func(n int) []eventstore.Event {
		evs := make([]eventstore.Event, n)
		for i := range evs {
			evs[i] = ev(eventstore.NewEventID())
		}
		return evs
	}
	// stored appends evs to stream (at whatever version it is) and
	// returns them.
	stored := func(stream string, evs ...eventstore.Event) []eventstore.Event {
		t.Helper()
		if _, err := s.Append(ctx, stream, eventstore.Any, evs...); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	const huge = eventstore.ExactVersion(1<<62 + 1)
	type setup func(stream string) []eventstore.Event // the events to append, after preparing stream
	freshOn := func(before, n int) setup {
		return func(stream string) []eventstore.Event {
			if before > 0 {
				stored(stream, fresh(before)...)
			}
			return fresh(n)
		}
	}
	cases := []struct {
		name     string
		expected eventstore.ExpectedVersion
		setup    setup
		status   int16
		actual   uint64 // the stream's version (mismatch), or the original result's (idempotent)
		fresh    bool   // the events are new: Go's Satisfied decides alone
	}{
		{"any/new stream", eventstore.Any, freshOn(0, 1), statusAppended, 0, true},
		{"any/existing stream", eventstore.Any, freshOn(2, 3), statusAppended, 2, true},
		{"any/batch", eventstore.Any, freshOn(2, 12), statusAppended, 2, true},
		{"no stream/new stream", eventstore.NoStream, freshOn(0, 2), statusAppended, 0, true},
		{"no stream/existing stream", eventstore.NoStream, freshOn(2, 1), statusMismatch, 2, true},
		{"stream exists/new stream", eventstore.StreamExists, freshOn(0, 1), statusMismatch, 0, true},
		{"stream exists/existing stream", eventstore.StreamExists, freshOn(2, 2), statusAppended, 2, true},
		{"exact/at the version", eventstore.Exact(2), freshOn(2, 1), statusAppended, 2, true},
		{"exact/zero on a new stream", eventstore.Exact(0), freshOn(0, 3), statusAppended, 0, true},
		{"exact/behind", eventstore.Exact(1), freshOn(2, 1), statusMismatch, 2, true},
		{"exact/ahead", eventstore.Exact(5), freshOn(2, 12), statusMismatch, 2, true},
		{"exact/ahead of a new stream", eventstore.Exact(5), freshOn(0, 1), statusMismatch, 0, true},
		{"exact/beyond any stream", huge, freshOn(2, 1), statusMismatch, 2, true},
		{"no stream/idempotent retry", eventstore.NoStream, func(stream string) []eventstore.Event {
			return stored(stream, fresh(2)...)
		}, statusIdempotent, 2, false},
		{"exact/idempotent retry", eventstore.Exact(1), func(stream string) []eventstore.Event {
			stored(stream, fresh(1)...)
			evs := stored(stream, fresh(3)...)
			stored(stream, fresh(1)...)
			return evs
		}, statusIdempotent, 4, false},
		{"any/idempotent retry", eventstore.Any, func(stream string) []eventstore.Event {
			return stored(stream, fresh(1)...)
		}, statusIdempotent, 1, false},
		{"stream exists/idempotent retry", eventstore.StreamExists, func(stream string) []eventstore.Event {
			stored(stream, fresh(1)...)
			return stored(stream, fresh(1)...)
		}, statusIdempotent, 2, false},
		{"any/event ID in another stream", eventstore.Any, func(stream string) []eventstore.Event {
			return stored(stream+"-other", fresh(1)...)
		}, statusEventID, 0, false},
		{"no stream/event ID in another stream", eventstore.NoStream, func(stream string) []eventstore.Event {
			return stored(stream+"-other", fresh(1)...)
		}, statusEventID, 0, false},
		{"exact/event ID not right after the expected version", eventstore.Exact(0), func(stream string) []eventstore.Event {
			stored(stream, fresh(1)...)
			return stored(stream, fresh(1)...)
		}, statusEventID, 2, false},
		{"no stream/retry with more events than stored", eventstore.NoStream, func(stream string) []eventstore.Event {
			return append(stored(stream, fresh(1)...), fresh(1)...)
		}, statusEventID, 1, false},
		{"no stream/retry with other events after the first", eventstore.NoStream, func(stream string) []eventstore.Event {
			evs := stored(stream, fresh(2)...)
			return []eventstore.Event{evs[0], ev(eventstore.NewEventID())}
		}, statusEventID, 2, false},
		{"any/second event ID stored", eventstore.Any, func(stream string) []eventstore.Event {
			return append(fresh(1), stored(stream+"-other", fresh(1)...)...)
		}, statusEventID, 0, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := fmt.Sprintf("rules-%d", i)
			evs := c.setup(stream)
			args, err := s.encode(stream, c.expected, evs)
			if err != nil {
				t.Fatal(err)
			}
			var before uint64
			if err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1`, stream).Scan(&before); err != nil {
				t.Fatal(err)
			}
			if c.fresh && c.expected.Satisfied(before) != (c.status == statusAppended) {
				t.Errorf("Go: %v.Satisfied(%d) = %v, want %v", c.expected, before, !(c.status == statusAppended), c.status == statusAppended)
			}

			// The function.
			out := inRolledBack(t, pool, func(tx pgx.Tx) appendOutcome {
				out, err := s.call(ctx, tx, args)
				if err != nil {
					t.Fatalf("append_events: %v", err)
				}
				return out
			})
			if out.status != c.status {
				t.Fatalf("append_events: status %d, want %d (reason %v)", out.status, c.status, out.reason)
			}
			res, err := args.result(out)
			var ce *eventstore.ConflictError
			switch c.status {
			case statusAppended, statusIdempotent:
				if err != nil {
					t.Fatalf("result: %v", err)
				}
				want := before + uint64(len(evs))
				if c.status == statusIdempotent {
					want = c.actual
				}
				if res.Version != want || len(res.Positions) != len(evs) {
					t.Fatalf("result: version %d, %d positions; want %d, %d", res.Version, len(res.Positions), want, len(evs))
				}
				if c.status == statusIdempotent {
					assertStoredAt(t, s, evs, res)
				}
			case statusMismatch:
				if !errors.As(err, &ce) || ce.Actual != c.actual || ce.EventID != uuid.Nil || ce.Retry {
					t.Fatalf("result: %v, want a version conflict at %d", err, c.actual)
				}
			case statusEventID:
				if !errors.As(err, &ce) || ce.EventID == uuid.Nil || ce.Reason == "" {
					t.Fatalf("result: %v, want an event ID conflict", err)
				}
			}

			// The single statement writes exactly when the function
			// appends, at the same version. A stored event ID fails it
			// with the ID's unique violation when the expected version
			// holds (Append then asks the function whether it is a retry
			// or a conflict); either way it writes nothing.
			var firstStored bool
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)`, evs[0].ID).Scan(&firstStored); err != nil {
				t.Fatal(err)
			}
			var written bool
			var got eventstore.AppendResult
			inRolledBack(t, pool, func(tx pgx.Tx) struct{} {
				got, written, err = s.insert(ctx, tx.Conn(), args)
				switch {
				case firstStored && (written || (err != nil && !isEventIDViolation(err))):
					t.Fatalf("single statement with the first event ID stored: written %v, %v; want nothing written (the ID's unique violation, or none when the expected version does not hold)", written, err)
				case err != nil && !((c.status == statusEventID || firstStored) && isEventIDViolation(err)):
					t.Fatalf("single statement: %v", err)
				}
				return struct{}{}
			})
			if err == nil && written != (c.status == statusAppended) {
				t.Fatalf("single statement: written %v, function status %d", written, c.status)
			}
			if written && got.Version != res.Version {
				t.Fatalf("single statement: version %d, function %d", got.Version, res.Version)
			}
			if c.status == statusMismatch {
				d, err := s.diagnose(ctx, args)
				if err != nil || d.actual != c.actual || d.stored || d.restored {
					t.Fatalf("diagnose: %+v, %v; want version %d, nothing stored, not restored", d, err, c.actual)
				}
			}
		})
	}

	t.Run("order guard", func(t *testing.T) {
		// A transaction that took its id before another append to the
		// stream committed.
		const stream = "rules-guard"
		stored(stream, fresh(1)...)
		args, err := s.encode(stream, eventstore.Exact(2), fresh(1))
		if err != nil {
			t.Fatal(err)
		}
		inRolledBack(t, pool, func(tx pgx.Tx) struct{} {
			if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
				t.Fatal(err)
			}
			stored(stream, fresh(1)...)
			if _, err := tx.Exec(ctx, `SAVEPOINT s`); err != nil {
				t.Fatal(err)
			}
			out, err := s.call(ctx, tx, args)
			if err != nil || out.status != statusOrderGuard {
				t.Fatalf("append_events: status %d, %v; want %d", out.status, err, statusOrderGuard)
			}
			if ce := guardConflict(args, out); !ce.Retry || ce.Actual != 2 {
				t.Fatalf("guard conflict %+v, want Retry at 2", ce)
			}
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT s`); err != nil {
				t.Fatal(err)
			}
			if _, written, err := s.insert(ctx, tx.Conn(), args); err != nil || written {
				t.Fatalf("single statement: written %v, %v; want nothing written", written, err)
			}
			return struct{}{}
		})
	})

	// A lost race: the single statement waits at the primary key for the
	// append that took its first version, then fails with the version's
	// unique violation and writes nothing, even when it carries more
	// events than the winner did (all or nothing); the statement stays
	// prepared on its connection (see preparedStmt).
	for _, n := range []int{1, 3, 12} {
		t.Run(fmt.Sprintf("lost race/%d events", n), func(t *testing.T) {
			stream := fmt.Sprintf("rules-race-%d", n)
			stored(stream, fresh(1)...)
			winner, err := s.encode(stream, eventstore.Exact(1), fresh(1))
			if err != nil {
				t.Fatal(err)
			}
			loser, err := s.encode(stream, eventstore.Exact(1), fresh(n))
			if err != nil {
				t.Fatal(err)
			}
			if r := loseRace(t, s, pool, winner, loser); !lostRace(r.err) || r.written || !r.kept {
				t.Fatalf("loser: written %v, %v, still prepared %v; want nothing written and the version's unique violation, the statement kept",
					r.written, r.err, r.kept)
			}
			var count, top int64
			if err := pool.QueryRow(ctx, `SELECT count(*), max(version) FROM events WHERE stream_id = $1`, stream).Scan(&count, &top); err != nil {
				t.Fatal(err)
			}
			if count != 2 || top != 2 {
				t.Fatalf("stream holds %d events up to version %d, want the winner's 2", count, top)
			}
		})
	}

	t.Run("function lost race", func(t *testing.T) { functionLostRace(t, s, pool) })

	t.Run("needs reanchor", func(t *testing.T) {
		// A stored transaction id above every id the server handed out,
		// as after a restore on another cluster.
		const stream = "rules-restored"
		stored(stream, fresh(1)...)
		args, err := s.encode(stream, eventstore.Any, fresh(1))
		if err != nil {
			t.Fatal(err)
		}
		s.stamp.Store(noStamp) // the single statement makes the check
		inRolledBack(t, pool, func(tx pgx.Tx) struct{} {
			if _, err := tx.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type)
				VALUES (1::bigint << 60, 'rules-restored-elsewhere', 1, gen_random_uuid(), 'Restored')`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `SAVEPOINT s`); err != nil {
				t.Fatal(err)
			}
			out, err := s.call(ctx, tx, args)
			if err != nil || out.status != statusRestored {
				t.Fatalf("append_events: status %d, %v; want %d", out.status, err, statusRestored)
			}
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT s`); err != nil {
				t.Fatal(err)
			}
			if _, written, err := s.insert(ctx, tx.Conn(), args); err != nil || written {
				t.Fatalf("single statement: written %v, %v; want nothing written", written, err)
			}
			return struct{}{}
		})
	})
}

// lostInsert is what the losing single statement of loseRace did.
type lostInsert struct {
	written bool
	err     error
	kept    bool // its statement is still prepared on its connection
}

// loseRace runs the single statement of winner in a transaction, then that
// of loser on another connection, which waits at a unique index for the
// winner; it commits the winner once the loser waits and returns what the
// loser did.
func loseRace(t *testing.T, s *Store, pool *pgxpool.Pool, winner, loser appendArgs) lostInsert {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, written, err := s.insert(ctx, tx.Conn(), winner); err != nil || !written {
		t.Fatalf("winner: written %v, %v", written, err)
	}
	done := make(chan lostInsert, 1)
	go func() {
		c, err := pool.Acquire(ctx)
		if err != nil {
			done <- lostInsert{err: err}
			return
		}
		defer c.Release()
		var r lostInsert
		_, r.written, r.err = s.insert(ctx, c.Conn(), loser)
		if qerr := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = $1)`,
			s.appendStmt(len(loser.ids)).name).Scan(&r.kept); qerr != nil {
			r.err = fmt.Errorf("%w; then, looking for its statement: %w", r.err, qerr)
		}
		done <- r
	}()
	pgtest.AwaitLockWait(t, s.cfg.Schema, "%chronicle.append%", "transactionid")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return <-done
}

// inRolledBack runs do in a transaction on pool and rolls it back.
func inRolledBack[T any](t *testing.T, pool *pgxpool.Pool, do func(pgx.Tx) T) T {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	return do(tx)
}

// assertStoredAt checks that res holds the positions evs are stored at.
func assertStoredAt(t *testing.T, s *Store, evs []eventstore.Event, res eventstore.AppendResult) {
	t.Helper()
	for i, e := range evs {
		var tid, pos int64
		if err := s.pool.QueryRow(context.Background(), `SELECT transaction_id, position FROM events WHERE event_id = $1`, e.ID).Scan(&tid, &pos); err != nil {
			t.Fatal(err)
		}
		if got := res.Positions[i]; got.Commit != uint64(tid) || got.Prepare != uint64(pos) {
			t.Fatalf("event %d: position %v, stored at (%d, %d)", i, got, tid, pos)
		}
	}
}

// functionLostRace: append_events loses the race for a version or an event
// ID (migration 5). The winner writes in a transaction left open; the loser
// calls the function in a transaction of its own, waits at the unique index
// for the winner, which then commits (or rolls back). The loser gets an
// outcome, not an error: its transaction stays usable (a caller's, under
// AppendTx), and it wrote nothing unless it appended. The function tells
// what the winner left, as it would have told the winner's state before
// the race: a version conflict, an idempotent retry, an event ID stored
// elsewhere, or, for an append that still holds, an append at the next
// version. Before migration 5 every loser here failed with a unique
// violation. The winners write without the stream's advisory lock (as a
// writer outside the store does) or into another stream: the store's own
// appends to one stream queue on that lock and meet no race there.
func functionLostRace(t *testing.T, s *Store, pool *pgxpool.Pool) {
	ctx := context.Background()
	fresh := func(n int) []eventstore.Event {
		evs := make([]eventstore.Event, n)
		for i := range evs {
			evs[i] = eventstore.Event{ID: eventstore.NewEventID(), Type: "Raced", Data: []byte(`{}`)}
		}
		return evs
	}
	// outside writes evs at versions from, from+1, … without the stream's
	// lock.
	outside := func(stream string, from int, evs []eventstore.Event) func(pgx.Tx) {
		return func(tx pgx.Tx) {
			for i, e := range evs {
				if _, err := tx.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type)
					VALUES (pg_current_xact_id()::text::bigint + (SELECT offset_xid FROM epoch), $1, $2, $3, 'Outside')`,
					stream, from+i, e.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	type lost struct {
		out      appendOutcome
		err      error
		versions []int64 // the loser's events as its transaction sees them
		usable   bool
	}
	// race runs winner, then the loser's call, and ends the winner's
	// transaction once the loser waits for it.
	race := func(t *testing.T, winner func(pgx.Tx), commit bool, loser appendArgs) lost {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		winner(tx)
		done := make(chan lost, 1)
		go func() {
			var l lost
			defer func() { done <- l }()
			ltx, err := pool.Begin(ctx)
			if err != nil {
				l.err = err
				return
			}
			defer ltx.Rollback(ctx)
			if l.out, l.err = s.call(ctx, ltx, loser); l.err != nil {
				return
			}
			rows, err := ltx.Query(ctx, `SELECT version FROM events WHERE event_id = ANY ($1) ORDER BY version`, loser.ids)
			if err != nil {
				return
			}
			l.versions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			l.usable = err == nil
		}()
		pgtest.AwaitLockWait(t, s.cfg.Schema, "%append_events%", "transactionid")
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		l := <-done
		if l.err != nil {
			t.Fatalf("append_events lost the race with an error: %v", l.err)
		}
		if !l.usable {
			t.Fatal("the loser's transaction is not usable after the lost race")
		}
		return l
	}
	stream := func(t *testing.T) string {
		name := "lost-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
		if _, err := s.Append(ctx, name, eventstore.NoStream, fresh(1)...); err != nil {
			t.Fatal(err)
		}
		return name
	}
	encode := func(t *testing.T, stream string, expected eventstore.ExpectedVersion, evs []eventstore.Event) appendArgs {
		a, err := s.encode(stream, expected, evs)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, n := range []int{1, 3, 12} {
		t.Run(fmt.Sprintf("version/exact/%d events", n), func(t *testing.T) {
			st := stream(t)
			l := race(t, outside(st, 2, fresh(1)), true, encode(t, st, eventstore.Exact(1), fresh(n)))
			if l.out.status != statusMismatch || l.out.actual != 2 || len(l.versions) != 0 {
				t.Fatalf("status %d, actual %d, %d events written; want a mismatch at 2, nothing written", l.out.status, l.out.actual, len(l.versions))
			}
		})
		t.Run(fmt.Sprintf("version/any/%d events", n), func(t *testing.T) {
			st := stream(t)
			l := race(t, outside(st, 2, fresh(2)), true, encode(t, st, eventstore.Any, fresh(n)))
			if l.out.status != statusAppended || l.out.version != int64(3+n) || len(l.versions) != n || l.versions[0] != 4 || l.versions[n-1] != int64(3+n) {
				t.Fatalf("status %d, version %d, written at %v; want appended at 4..%d", l.out.status, l.out.version, l.versions, 3+n)
			}
		})
		t.Run(fmt.Sprintf("version/winner rolled back/%d events", n), func(t *testing.T) {
			st := stream(t)
			l := race(t, outside(st, 2, fresh(1)), false, encode(t, st, eventstore.Exact(1), fresh(n)))
			if l.out.status != statusAppended || l.out.version != int64(1+n) || len(l.versions) != n {
				t.Fatalf("status %d, version %d, written at %v; want appended at 2..%d", l.out.status, l.out.version, l.versions, 1+n)
			}
		})
		t.Run(fmt.Sprintf("event ID in another stream/%d events", n), func(t *testing.T) {
			// The last event's ID goes into another stream at the same
			// time, by the store's own single statement: the loser wrote
			// its other events first, and takes them back.
			st := stream(t)
			evs := fresh(n)
			taken, err := s.encode(st+"-other", eventstore.Any, evs[n-1:])
			if err != nil {
				t.Fatal(err)
			}
			l := race(t, func(tx pgx.Tx) {
				if _, written, err := s.insert(ctx, tx.Conn(), taken); err != nil || !written {
					t.Fatalf("winner: written %v, %v", written, err)
				}
			}, true, encode(t, st, eventstore.Exact(1), evs))
			if l.out.status != statusEventID || l.out.conflictID == nil || *l.out.conflictID != evs[n-1].ID || len(l.versions) != 1 || l.versions[0] != 1 {
				t.Fatalf("status %d, conflict %v, the loser's IDs at versions %v; want an event ID conflict on the last, nothing written",
					l.out.status, l.out.conflictID, l.versions)
			}
			if l.out.reason == nil || !strings.Contains(*l.out.reason, "-other") {
				t.Fatalf("reason %v, want the other stream named", l.out.reason)
			}
		})
		t.Run(fmt.Sprintf("idempotent retry/%d events", n), func(t *testing.T) {
			// The original, written without the stream's lock, is in
			// flight when its retry reaches the insert; the retry waits
			// for it and returns its result.
			st := stream(t)
			evs := fresh(n)
			for _, expected := range []eventstore.ExpectedVersion{eventstore.Exact(1), eventstore.Any} {
				l := race(t, outside(st, 2, evs), false, encode(t, st, expected, evs))
				if l.out.status != statusAppended {
					t.Fatalf("original rolled back: status %d, want appended", l.out.status)
				}
			}
			l := race(t, outside(st, 2, evs), true, encode(t, st, eventstore.Exact(1), evs))
			if l.out.status != statusIdempotent || l.out.version != int64(1+n) || len(l.out.positions) != n || len(l.versions) != n || l.versions[0] != 2 {
				t.Fatalf("status %d, version %d, %d positions, stored at %v; want the original's result, versions 2..%d",
					l.out.status, l.out.version, len(l.out.positions), l.versions, 1+n)
			}
			a := encode(t, st, eventstore.Exact(1), evs)
			res, err := a.result(l.out)
			if err != nil {
				t.Fatal(err)
			}
			assertStoredAt(t, s, evs, res)
		})
	}
	t.Run("single statement/first event ID in flight", func(t *testing.T) {
		// The single statement meets the same race at its first event's ID:
		// the ID's unique violation, nothing written.
		st := stream(t)
		evs := fresh(1)
		taken, err := s.encode(st+"-other", eventstore.Any, evs)
		if err != nil {
			t.Fatal(err)
		}
		if r := loseRace(t, s, pool, taken, encode(t, st, eventstore.Exact(1), evs)); !isEventIDViolation(r.err) || r.written {
			t.Fatalf("loser: written %v, %v; want nothing written and the ID's unique violation", r.written, r.err)
		}
		_, err = s.Append(ctx, st, eventstore.Exact(1), evs...)
		if ce, ok := errors.AsType[*eventstore.ConflictError](err); !ok || ce.EventID != evs[0].ID || ce.Retry {
			t.Fatalf("Append: %v, want an event ID conflict", err)
		}
	})
	t.Run("AppendTx under repeatable read", func(t *testing.T) {
		// The winner is not in the caller's snapshot: the insert cannot
		// skip a row it cannot see, the transaction is aborted, and
		// AppendTx says so with a retryable conflict.
		st := stream(t)
		tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT count(*) FROM events`); err != nil { // takes the snapshot
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, st, eventstore.Exact(1), fresh(1)...); err != nil {
			t.Fatal(err)
		}
		_, err = s.AppendTx(ctx, tx, st, eventstore.Exact(1), fresh(3)...)
		if ce, ok := errors.AsType[*eventstore.ConflictError](err); !ok || !ce.Retry || !strings.Contains(ce.Reason, "40001") {
			t.Fatalf("AppendTx: %v, want a retryable conflict naming the serialization failure", err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); err == nil {
			t.Fatal("the transaction is still usable; want it aborted")
		}
	})
}
