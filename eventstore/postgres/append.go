package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/internal/telemetry"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Outcomes reported by the append_events function (see migrations).
const (
	statusAppended   = 0
	statusIdempotent = 1
	statusMismatch   = 2
	statusEventID    = 3
	statusOrderGuard = 4
	statusRestored   = 5 // the store needs Reanchor (migration 3)
	statusLostRace   = 6 // lost the race for a version or an event ID, three tries; nothing written (migration 5)
)

// Expected-version kinds as the append statements and append_events take
// them (p_kind).
const (
	kindAny          = 0
	kindNoStream     = 1
	kindStreamExists = 2
	kindExact        = 3
)

// querier is what an append runs on: the pool (autocommit) or a caller's
// transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appendArgs is an append encoded for the append_events function.
type appendArgs struct {
	stream   string
	expected eventstore.ExpectedVersion
	kind     int16
	version  int64
	ids      [][16]byte
	types    []string
	data     [][]byte
	metadata [][]byte
}

type appendOutcome struct {
	status     int16
	version    int64
	actual     int64
	conflictID *[16]byte
	reason     *string
	tids       []int64
	positions  []int64
}

// Append implements [eventstore.Store]. It is one round trip in the common
// case: a single INSERT (see sql/append_one.sql) reads the stream's
// version from its last event, checks the expected version and the order
// guard, and inserts every event, in one autocommit transaction. When that
// statement writes nothing (a check failed) or fails at the primary key (it
// lost the race for the stream's next version; the statement is prepared
// under a name, so it stays prepared), a read-only query settles the common
// case, a version mismatch with none of the events stored; the rest (an
// idempotent retry, an event ID stored elsewhere, the order guard, an Any
// append that lost a race) goes to the append_events function, which
// queues on the stream's advisory lock, looks for stored event IDs, and
// tells a retry from a conflict. When the
// per-stream order guard fires it runs again in a new transaction, up to
// [Config.AppendAttempts] transactions in all. After a successful append it
// wakes live subscriptions, outside the transaction (see
// [Store.NotifyAppended]).
//
// Inside a span, each event's metadata records the append's trace context
// (see docs/observability.md).
//
// When ctx ends, or the connection fails, after a statement may have reached
// the server, Append finds out whether it was stored before it answers (it
// waits for the server session that got the statement to end, then looks
// the event IDs up; see outcome.go and docs/postgres.md), within
// [Config.ResolveTimeout]: stored, it returns the result; not stored, the
// context's error or the connection's. If it cannot
// tell, it returns an [*eventstore.OutcomeUnknownError]: retry with its
// EventIDs. Any other error means nothing was stored.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if s.tel.Idle(ctx) {
		return s.appendEvents(ctx, stream, expected, events)
	}
	ctx, op := s.tel.StartAppend(ctx, stream, expected, len(events))
	res, err := s.appendEvents(ctx, stream, expected, telemetry.Stamp(ctx, events))
	op.End(ctx, res, err)
	return res, err
}

// appendEvents is [Store.Append] once the trace context is stamped.
func (s *Store) appendEvents(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	args, err := s.encode(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.requireSchema(ctx, s.pool); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.stamp.Load() == noStamp {
		// The store's first append: the single statement writes only
		// under a stamp the Reanchor check passed under (see diagnose).
		restored, err := s.checkRestored(ctx, s.pool)
		if err != nil {
			return eventstore.AppendResult{}, s.failed(ctx, "append", stream, err)
		}
		if restored {
			return eventstore.AppendResult{}, s.needsReanchor("append", stream)
		}
	}
	fast := true // the single statement is to run (see below)
	// readCommitted: run append_events in a read committed transaction of
	// its own, once the session has shown that its default isolation is
	// stricter (a serialization failure, or a version taken while
	// append_events held the stream's lock). Under repeatable read or
	// serializable the function's snapshot is its transaction's, taken
	// before it waits for the lock, so it reads the version its
	// predecessor in the queue has just replaced and loses at the primary
	// key again, attempt after attempt, on a busy stream.
	// The store remembers a serialization failure (readCommitted in Store):
	// the sessions of one pool share their default isolation.
	readCommitted := s.readCommitted.Load()
	stricter := func(yes bool) {
		if yes && !readCommitted {
			readCommitted = true
			s.readCommitted.Store(true)
		}
	}
	var last error
attempts:
	for range s.cfg.AppendAttempts {
		// Once the single statement has failed, every further attempt goes
		// through append_events, which queues racing writers, and looks for
		// stored event IDs first (an idempotent retry that raced its
		// original is then recognised at once). It runs a second time in
		// the first attempt only when it wrote nothing under a stamp that
		// was not the server's (see diagnose).
		for run := 0; fast && run < 2; run++ {
			fast = false
			var res eventstore.AppendResult
			var written bool
			stamp := s.stamp.Load() // what insert runs under, or an older one
			settled, err := s.onSession(ctx, args, func(c *pgx.Conn) (err error) {
				res, written, err = s.insert(ctx, c, args)
				return err
			})
			if settled != nil {
				return *settled, nil
			}
			if err != nil {
				if ferr, ok := s.finalError(ctx, stream, err); ok {
					return eventstore.AppendResult{}, ferr
				}
			}
			diagnose, refused := false, false
			switch {
			case err == nil && written:
				s.NotifyAppended()
				return res, nil
			case err == nil:
				// Nothing written: the expected version or the order guard
				// did not hold, or the store's stamp is not the server's
				// (its first append, a restarted server, a Reanchor).
				diagnose, refused = true, true
			case isEventIDViolation(err):
				// An event's ID is stored: an idempotent retry (the first
				// one's) or a conflict; append_events says which.
				last = err
			case pgerr.Is(err, pgerr.DeadlockDetected):
				// Two appends of the same event IDs in crossed orders (to
				// two streams) each waited at the event ID index for the
				// other, and PostgreSQL ended this one: run it again in
				// append_events, which then finds the other's IDs (a
				// conflict) or, had the other rolled back, appends.
				last = err
				continue attempts
			case lostRace(err) && args.kind != kindAny:
				// Another append took the version this one expected to
				// write next (a mismatch, unless this is a retry), or the
				// race was lost under repeatable read: as above.
				diagnose, last = true, err
				stricter(pgerr.Is(err, pgerr.SerializationFailure))
			case isVersionViolation(err):
				// An Any append lost the race for the stream's next
				// version: it runs again, queued in append_events, in
				// this attempt (under a stricter isolation the function
				// fails with a serialization failure, and the next
				// attempt runs it under read committed).
				last = err
			case pgconn.SafeToRetry(err) || lostRace(err):
				last = err
				stricter(pgerr.Is(err, pgerr.SerializationFailure))
				continue attempts
			default:
				return eventstore.AppendResult{}, s.mapError("append", stream, err)
			}
			if diagnose {
				// The common refusal, a version mismatch with none of the
				// events stored, is settled by one read-only query that
				// takes no lock (a racing writer that lost must not hold
				// up the stream's other appends); it also makes the
				// Reanchor check. Anything else goes on to append_events
				// in this attempt.
				d, err := s.diagnose(ctx, args)
				if err != nil {
					return eventstore.AppendResult{}, s.failed(ctx, "append", stream, err)
				}
				if d.restored {
					return eventstore.AppendResult{}, s.needsReanchor("append", stream)
				}
				if !d.stored && !expected.Satisfied(d.actual) {
					return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: d.actual}
				}
				// Having written nothing under a stamp that was not the
				// server's, the statement may have refused for that alone:
				// run it again.
				fast = refused && !stamp.same(&d.stamp)
			}
		}
		var out appendOutcome
		settled, err := s.onSession(ctx, args, func(c *pgx.Conn) (err error) {
			if readCommitted {
				out, err = s.callReadCommitted(ctx, c, args)
			} else {
				out, err = s.call(ctx, c, args)
			}
			return err
		})
		if settled != nil {
			return *settled, nil
		}
		if err != nil {
			if ferr, ok := s.finalError(ctx, stream, err); ok {
				return eventstore.AppendResult{}, ferr
			}
			if isEventIDViolation(err) || pgerr.Is(err, pgerr.DeadlockDetected) {
				// The same event ID was inserted concurrently (or two
				// appends of the same IDs in crossed orders deadlocked at
				// the event ID index): run again; the ID check then tells
				// an idempotent retry from a conflict.
				last = err
				continue
			}
			if pgconn.SafeToRetry(err) || isVersionViolation(err) || pgerr.Is(err, pgerr.SerializationFailure) {
				// A version taken and not returned as a lost race (since
				// migration 5 append_events returns those): under
				// repeatable read or serializable, the winner's row is not
				// in the function's snapshot, a serialization failure (the
				// function's predecessor on the lock, when the session's
				// isolation is stricter than read committed: see
				// readCommitted); or a writer outside this store. It reads
				// as a conflict after the attempts.
				readCommitted = readCommitted || !pgconn.SafeToRetry(err)
				stricter(pgerr.Is(err, pgerr.SerializationFailure))
				last = err
				continue
			}
			return eventstore.AppendResult{}, s.mapError("append", stream, err)
		}
		switch out.status {
		case statusOrderGuard:
			last = guardConflict(args, out)
			continue
		case statusLostRace:
			last = lostRaceConflict(args, out, "run it again")
			continue
		case statusRestored:
			return eventstore.AppendResult{}, s.needsReanchor("append", stream)
		}
		res, err := args.result(out)
		if err == nil && out.status == statusAppended {
			s.NotifyAppended()
		}
		return res, err
	}
	var ce *eventstore.ConflictError
	if errors.As(last, &ce) {
		return eventstore.AppendResult{}, ce
	}
	return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Retry: true,
		Reason: fmt.Sprintf("gave up after %d attempts: %v", s.cfg.AppendAttempts, last)}
}

// epochStamp is what the Reanchor check saw pass: the server's start time
// and the epoch row's xmin (see sql/parts/append_head.sql). While both stay
// the same, the check's answer cannot change, and the single statement
// writes only under the stamp the store holds.
type epochStamp struct {
	started time.Time
	xmin    int64
}

// noStamp matches no server: the single statement writes nothing until a
// check has passed.
var noStamp = &epochStamp{xmin: -1}

func (e *epochStamp) same(o *epochStamp) bool { return e.started.Equal(o.started) && e.xmin == o.xmin }

// diagnosis is why the single statement wrote nothing (see diagnose.sql).
type diagnosis struct {
	actual   uint64 // the stream's version
	stored   bool   // one of the append's event IDs is stored
	restored bool   // the store needs Reanchor
	stamp    epochStamp
}

// checkRestored makes the Reanchor check on q. When the store does not
// need Reanchor, the stamp under which that was checked becomes the
// store's, and the single statement writes under it.
func (s *Store) checkRestored(ctx context.Context, q querier) (restored bool, err error) {
	var st epochStamp
	if err := q.QueryRow(ctx, s.sql.restored).Scan(&restored, &st.started, &st.xmin); err != nil || restored {
		return restored, err
	}
	s.adopt(st)
	return false, nil
}

// adopt makes st, a stamp under which the Reanchor check passed, the
// store's.
func (s *Store) adopt(st epochStamp) {
	if !s.stamp.Load().same(&st) {
		s.stamp.Store(&st)
	}
}

// diagnose reads why the single statement wrote nothing: the stream's
// version, whether any of the append's event IDs is stored, and whether
// the store needs Reanchor. When it does not, the stamp under which that
// check passed becomes the store's, and the single statement writes under
// it.
func (s *Store) diagnose(ctx context.Context, a appendArgs) (d diagnosis, err error) {
	var v int64
	err = s.pool.QueryRow(ctx, s.sql.diagnose, a.stream, a.ids).Scan(&v, &d.stored, &d.restored, &d.stamp.started, &d.stamp.xmin)
	if err != nil || d.restored {
		return d, err
	}
	d.actual = uint64(v)
	s.adopt(d.stamp)
	return d, nil
}

// insert runs the single-statement append on c. written is false when the
// statement wrote nothing: the expected version or the order guard did not
// hold.
//
// The statement is prepared on c under a name of its own (see
// preparedStmt): a lost race fails it, and it must stay prepared. When the
// server no longer has it, it is prepared again and run once more (the
// failed run executed nothing).
func (s *Store) insert(ctx context.Context, c *pgx.Conn, a appendArgs) (res eventstore.AppendResult, written bool, err error) {
	stmt := s.appendStmt(len(a.ids))
	res, written, err = s.insertWith(ctx, c, stmt, a)
	if err != nil && stmt.forget(ctx, c, err) {
		res, written, err = s.insertWith(ctx, c, stmt, a)
	}
	return res, written, err
}

// appendStmt is the single-statement append of n events (see
// sql/append_one.sql for why there are three).
func (s *Store) appendStmt(n int) preparedStmt {
	switch {
	case n >= 10:
		return s.appendBatch
	case n > 1:
		return s.appendMany
	}
	return s.appendOne
}

func (s *Store) insertWith(ctx context.Context, c *pgx.Conn, stmt preparedStmt, a appendArgs) (res eventstore.AppendResult, written bool, err error) {
	query, sd, err := stmt.on(ctx, c)
	if err != nil {
		return res, false, err
	}
	n := len(a.ids)
	if s.onWire(sd, n) {
		return s.insertWire(ctx, c.PgConn(), sd, a)
	}
	if n == 1 {
		// The common case: scalar arguments, at most one row.
		var tid, pos, version int64
		st := s.stamp.Load()
		err := c.QueryRow(ctx, query, a.stream, a.kind, a.version, a.ids[0], a.types[0], a.data[0], a.metadata[0], st.started, st.xmin).
			Scan(&tid, &pos, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return res, false, nil
		}
		if err != nil {
			return res, false, err
		}
		return eventstore.AppendResult{Version: uint64(version),
			Positions: []eventstore.Position{{Commit: uint64(tid), Prepare: uint64(pos)}}}, true, nil
	}
	st := s.stamp.Load()
	// As flat arrays, pgx encodes the four without reflection.
	rows, err := c.Query(ctx, query, a.stream, a.kind, a.version, pgtype.FlatArray[[16]byte](a.ids), pgtype.FlatArray[string](a.types),
		pgtype.FlatArray[[]byte](a.data), pgtype.FlatArray[[]byte](a.metadata), st.started, st.xmin)
	if err != nil {
		return res, false, err
	}
	defer rows.Close()
	var got appended
	// The three bigints arrive in binary (the statement is described in
	// every query exec mode New accepts: TestAppendUnderEveryQueryExecMode):
	// read them straight from each row rather than through pgx's scan
	// plans, three calls a row.
	// (Checked at the first row: a failed statement has no columns.)
	for rows.Next() {
		if len(got.rows) == 0 && !int8Columns(rows.FieldDescriptions(), 3, true) {
			return res, false, fmt.Errorf("postgres: append to %q: the statement does not return three binary bigints", a.stream)
		}
		if err := got.add(&a, rows.RawValues()); err != nil {
			return res, false, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, false, err
	}
	return got.result(&a)
}

// appended collects the rows the single statement returned: each event's
// transaction id, position and version, as binary bigints.
type appended struct {
	rows  []appendedRow
	first uint64 // the lowest version
}

type appendedRow struct{ tid, pos, version uint64 }

// add reads one returned row of a's statement.
func (g *appended) add(a *appendArgs, v [][]byte) error {
	if len(v) != 3 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 8 {
		return fmt.Errorf("postgres: append to %q: a returned row is not three bigints", a.stream)
	}
	r := appendedRow{tid: be.Uint64(v[0]), pos: be.Uint64(v[1]), version: be.Uint64(v[2])}
	if g.rows == nil {
		g.rows, g.first = make([]appendedRow, 0, len(a.ids)), r.version
	}
	g.rows = append(g.rows, r)
	g.first = min(g.first, r.version)
	return nil
}

// result is a's result from the rows: not written when there are none;
// otherwise one per event, with consecutive versions.
func (g *appended) result(a *appendArgs) (res eventstore.AppendResult, written bool, err error) {
	n := len(a.ids)
	if len(g.rows) == 0 {
		return res, false, nil
	}
	if len(g.rows) != n {
		return res, false, fmt.Errorf("postgres: append to %q: %d rows for %d events", a.stream, len(g.rows), n)
	}
	res = eventstore.AppendResult{Version: g.first + uint64(n) - 1, Positions: make([]eventstore.Position, n)}
	for _, r := range g.rows {
		i := r.version - g.first
		if i >= uint64(n) || res.Positions[i] != (eventstore.Position{}) {
			return eventstore.AppendResult{}, false, fmt.Errorf("postgres: append to %q: version %d outside the append", a.stream, r.version)
		}
		res.Positions[i] = eventstore.Position{Commit: r.tid, Prepare: r.pos}
	}
	return res, true, nil
}

// be reads PostgreSQL's binary integers.
var be = binary.BigEndian

// int8Columns reports whether fields are n bigint columns, sent in binary
// when binary is set (a statement's description, before it runs, has no
// format yet).
func int8Columns(fields []pgconn.FieldDescription, n int, binary bool) bool {
	if len(fields) != n {
		return false
	}
	for _, f := range fields {
		if f.DataTypeOID != pgtype.Int8OID || binary && f.Format != pgx.BinaryFormatCode {
			return false
		}
	}
	return true
}

// AppendTx appends events inside the caller's transaction tx, so they commit
// (or roll back) together with the caller's own writes. It checks and
// refuses exactly like [Store.Append], with two differences:
//
//   - The per-stream order guard cannot restart the caller's transaction:
//     when this transaction's id is below the id of the stream's last
//     append, AppendTx returns a [*eventstore.ConflictError] with Retry set
//     ([eventstore.IsRetryable] reports true); run the whole transaction
//     again. This happens when tx began writing long before the append, or
//     raced another append on the same stream.
//   - Nothing wakes live subscriptions when tx commits, because the store
//     does not see the commit: they notice within [Config.PollInterval], or
//     at once if the caller calls [Store.NotifyAppended] after committing.
//
// A version mismatch or a stored event ID leaves tx usable; the caller
// decides whether to roll back. So does a lost race (under read committed):
// when another transaction stores one of the append's versions or event IDs
// while it runs, the insert waits for that transaction, skips the taken rows
// instead of failing, takes back the rest and looks again, and AppendTx
// returns what the winner left — a version conflict, an idempotent retry's
// result, a stored event ID — or, after three lost tries, a retryable
// [*eventstore.ConflictError]; nothing of the append is written then. Under
// repeatable read or serializable, a winner tx's snapshot cannot see makes
// the insert fail with a serialization failure, which aborts tx: AppendTx
// returns a retryable conflict; run the whole transaction again. The events' positions are final only once tx
// commits, and readers see them only then.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if s.tel.Idle(ctx) {
		return s.appendTx(ctx, tx, stream, expected, events)
	}
	ctx, op := s.tel.StartAppend(ctx, stream, expected, len(events))
	res, err := s.appendTx(ctx, tx, stream, expected, telemetry.Stamp(ctx, events))
	op.End(ctx, res, err)
	return res, err
}

// appendTx is [Store.AppendTx] once the trace context is stamped.
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedVersion, events []eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if tx == nil {
		return eventstore.AppendResult{}, errors.New("postgres: AppendTx: nil transaction")
	}
	args, err := s.encode(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.requireSchema(ctx, tx); err != nil {
		return eventstore.AppendResult{}, err
	}
	out, err := s.call(ctx, tx, args)
	if err != nil {
		if isEventIDViolation(err) {
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected,
				EventID: violatingEventID(err, args), Retry: true,
				Reason: "an event ID was stored concurrently by another transaction; this transaction is aborted, run it again"}
		}
		if isVersionViolation(err) {
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Retry: true,
				Reason: "a version of the stream was stored concurrently by another transaction; this transaction is aborted, run it again"}
		}
		if pgerr.Is(err, pgerr.DeadlockDetected) {
			// The append waited for a lock (a stream's, or an event ID
			// another transaction holds) held by a transaction that waits
			// for one this transaction holds: two transactions appending
			// to the same streams, or the same event IDs, in crossed
			// orders. PostgreSQL ended this one.
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Retry: true,
				Reason: "deadlock with a concurrent transaction appending to the same streams or event IDs in another order: " + err.Error() + "; this transaction is aborted, run it again"}
		}
		if pgerr.Is(err, pgerr.SerializationFailure) {
			// Under repeatable read or serializable, the winner of a race
			// is not in tx's snapshot: the insert cannot build on it (or
			// serializable found another dependency it cannot order).
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Retry: true,
				Reason: "serialization failure (a version or an event ID stored by a transaction outside this one's snapshot?): " + err.Error() + "; this transaction is aborted, run it again"}
		}
		return eventstore.AppendResult{}, s.mapError("append", stream, err)
	}
	switch out.status {
	case statusOrderGuard:
		return eventstore.AppendResult{}, guardConflict(args, out)
	case statusLostRace:
		return eventstore.AppendResult{}, lostRaceConflict(args, out, "tx is still usable; run the append (or the whole transaction) again")
	case statusRestored:
		return eventstore.AppendResult{}, s.needsReanchor("append", stream)
	}
	return args.result(out)
}

// CommitTx commits tx, a transaction in which the caller appended with
// [Store.AppendTx] (appended holds what those calls returned), and reports
// the outcome truthfully, as [Store.Append] does: when the commit's reply is
// lost (ctx ended, or the connection failed, after COMMIT was sent), the
// transaction may have committed all the same, so CommitTx waits for the
// server session to end and looks the appended events up by position
// (bounded by [Config.ResolveTimeout]). It returns nil when tx committed,
// the commit's error when it did not, and an
// [*eventstore.OutcomeUnknownError] (without event IDs: the caller has
// them) when it cannot tell: run the transaction again with the same event
// IDs, which is an idempotent retry if the first one committed. After a
// commit it wakes live subscriptions ([Store.NotifyAppended]).
//
// Committing with tx.Commit is fine too; it just cannot tell a lost reply
// from a failed commit.
func (s *Store) CommitTx(ctx context.Context, tx pgx.Tx, appended ...eventstore.AppendResult) error {
	if tx == nil {
		return errors.New("postgres: CommitTx: nil transaction")
	}
	var tids, poss []int64
	for _, r := range appended {
		if len(r.Positions) > 0 {
			tids = append(tids, int64(r.Positions[0].Commit))
			poss = append(poss, int64(r.Positions[0].Prepare))
		}
	}
	sess := sessionOf(tx.Conn())
	err := tx.Commit(ctx)
	if err == nil {
		if len(tids) > 0 {
			s.NotifyAppended()
		}
		return nil
	}
	if !uncertain(err) || len(tids) == 0 {
		return err
	}
	closeConn(ctx, tx.Conn())
	stored, rerr := s.resolve(ctx, sess, func(ctx context.Context) (bool, error) {
		var n int
		if err := s.pool.QueryRow(ctx, s.sql.findPos, tids, poss).Scan(&n); err != nil {
			return false, err
		}
		if n != 0 && n != len(tids) {
			return false, fmt.Errorf("%d of the transaction's %d appends are stored", n, len(tids))
		}
		return n == len(tids), nil
	})
	switch {
	case rerr != nil:
		return &eventstore.OutcomeUnknownError{Expected: eventstore.Any, Err: fmt.Errorf("commit: %w; then %w", err, rerr)}
	case stored:
		s.NotifyAppended()
		return nil
	}
	return err
}

// encode checks the append against the limits and turns it into the
// function's arguments. Events without an ID get a UUID v7 here, once, so an
// append that runs again after a lost connection is an idempotent retry.
func (s *Store) encode(stream string, expected eventstore.ExpectedVersion, events []eventstore.Event) (appendArgs, error) {
	if err := eventstore.CheckExpected(stream, expected); err != nil {
		return appendArgs{}, err
	}
	if err := s.cfg.Limits.CheckAppend(stream, events); err != nil {
		return appendArgs{}, err
	}
	a := appendArgs{
		stream:   stream,
		expected: expected,
		ids:      make([][16]byte, len(events)),
		types:    make([]string, len(events)),
		data:     make([][]byte, len(events)),
		metadata: make([][]byte, len(events)),
	}
	switch e := expected.(type) {
	case eventstore.AnyVersion:
		a.kind = kindAny
	case eventstore.NoStreamVersion:
		a.kind = kindNoStream
	case eventstore.StreamExistsVersion:
		a.kind = kindStreamExists
	case eventstore.ExactVersion:
		a.kind, a.version = kindExact, int64(e)
		if uint64(e) > 1<<62 {
			a.version = -1 // no stream can reach it: always a mismatch
		}
	default:
		return appendArgs{}, fmt.Errorf("postgres: append to %q: unknown expected version %T", stream, expected)
	}
	var mds []byte // the events' metadata, encoded
	for i, e := range events {
		id := e.ID
		if id == uuid.Nil {
			id = eventstore.NewEventID()
		}
		a.ids[i] = id
		a.types[i] = e.Type
		if len(e.Data) > 0 {
			a.data[i] = e.Data
		}
		if e.Metadata.IsZero() {
			continue
		}
		// Encoded into one buffer for the whole append: one allocation,
		// not one per event. (A slice keeps pointing into the old array
		// when the buffer grows.)
		if mds == nil {
			mds = make([]byte, 0, 64*len(events))
		}
		start := len(mds)
		if b, ok := appendMetadata(mds, e.Metadata); ok {
			mds = b
			a.metadata[i] = mds[start:len(mds):len(mds)]
			continue
		}
		md, err := encodeMetadata(e.Metadata)
		if err != nil {
			return appendArgs{}, &eventstore.InvalidAppendError{Stream: stream, Index: i, Err: eventstore.ErrInvalidEvent, Reason: "metadata: " + err.Error()}
		}
		a.metadata[i] = md
	}
	return a, nil
}

// call runs append_events, asking it to look for stored event IDs before
// inserting: every append that reaches it is a refusal to explain, a race
// to retry or an AppendTx, where an early answer beats a unique violation.
func (s *Store) call(ctx context.Context, q querier, a appendArgs) (appendOutcome, error) {
	var out appendOutcome
	err := q.QueryRow(ctx, s.sql.appendEvents, a.stream, a.kind, a.version, true, a.ids, a.types, a.data, a.metadata).
		Scan(&out.status, &out.version, &out.actual, &out.conflictID, &out.reason, &out.tids, &out.positions)
	return out, err
}

// callReadCommitted runs append_events in a read committed transaction on
// c, whatever the session's default isolation: each statement of the
// function then takes a snapshot of its own, the stream's version after
// the wait for its lock included.
func (s *Store) callReadCommitted(ctx context.Context, c *pgx.Conn, a appendArgs) (appendOutcome, error) {
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return appendOutcome{}, err
	}
	out, err := s.call(ctx, tx, a)
	if err != nil {
		_ = tx.Rollback(ctx)
		return appendOutcome{}, err
	}
	return out, tx.Commit(ctx)
}

// result turns the function's outcome into the append's result or error.
func (a appendArgs) result(out appendOutcome) (eventstore.AppendResult, error) {
	switch out.status {
	case statusAppended, statusIdempotent:
		if len(out.positions) != len(a.ids) || len(out.tids) != len(a.ids) {
			return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %d positions for %d events", a.stream, len(out.positions), len(a.ids))
		}
		res := eventstore.AppendResult{Version: uint64(out.version), Positions: make([]eventstore.Position, len(a.ids))}
		for i := range out.positions {
			res.Positions[i] = eventstore.Position{Commit: uint64(out.tids[i]), Prepare: uint64(out.positions[i])}
		}
		return res, nil
	case statusMismatch:
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: a.stream, Expected: a.expected, Actual: uint64(out.actual)}
	case statusEventID:
		ce := &eventstore.ConflictError{Stream: a.stream, Expected: a.expected, Actual: uint64(out.actual)}
		if out.conflictID != nil {
			ce.EventID = *out.conflictID
		}
		if out.reason != nil {
			ce.Reason = *out.reason
		}
		return eventstore.AppendResult{}, ce
	}
	return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: unknown outcome %d", a.stream, out.status)
}

func guardConflict(a appendArgs, out appendOutcome) *eventstore.ConflictError {
	reason := "per-stream order guard"
	if out.reason != nil {
		reason += ": " + *out.reason + "; run the append again in a new transaction (after a dump/restore, run Reanchor)"
	}
	return &eventstore.ConflictError{Stream: a.stream, Expected: a.expected, Actual: uint64(out.actual), Retry: true, Reason: reason}
}

// lostRaceConflict is the retryable conflict of an append that lost the
// race for a version or an event ID on every try append_events made
// (migration 5): nothing was written.
func lostRaceConflict(a appendArgs, out appendOutcome, then string) *eventstore.ConflictError {
	reason := "lost the race for a version or an event ID"
	if out.reason != nil {
		reason = *out.reason
	}
	return &eventstore.ConflictError{Stream: a.stream, Expected: a.expected, Actual: uint64(out.actual), Retry: true, Reason: reason + "; " + then}
}

// isEventIDViolation reports a unique violation of the event ID: the same
// ID inserted by a concurrent transaction.
func isEventIDViolation(err error) bool { return isUniqueViolation(err, "events_event_id_key") }

// isVersionViolation reports a unique violation of (stream_id, version):
// another append took the stream's next version first (the primary key is
// what serialises a stream's appends).
func isVersionViolation(err error) bool { return isUniqueViolation(err, "events_stream_version_key") }

// lostRace reports how the single statement can fail when another append
// took a version it meant to write: a unique violation of the version, or,
// when the sessions' default isolation is repeatable read or serializable,
// a serialization failure (the winner's row is not in the statement's
// snapshot).
func lostRace(err error) bool {
	return isVersionViolation(err) || pgerr.Is(err, pgerr.SerializationFailure)
}

func isUniqueViolation(err error, constraint string) bool {
	return pgerr.IsUniqueViolation(err, constraint)
}

var detailUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// violatingEventID finds the event ID a unique violation names, or the
// append's first ID when the detail does not say.
func violatingEventID(err error, a appendArgs) uuid.UUID {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if id, perr := uuid.Parse(detailUUID.FindString(pgErr.Detail)); perr == nil {
			return id
		}
	}
	return a.ids[0]
}

// finalError returns what Append reports for err, a failed attempt, when
// err ends the append whatever it was: an outcome that stays unknown; a
// reply lost with the append known not to be stored (a cancellation, or a
// dropped connection: retryable, the caller decides); or the caller's
// context ended. Otherwise it reports false, and the attempt's error is
// for the append to classify.
func (s *Store) finalError(ctx context.Context, stream string, err error) (error, bool) {
	var lost *lostReply
	switch {
	case eventstore.IsOutcomeUnknown(err):
		return err, true
	case errors.As(err, &lost):
		return s.failed(ctx, "append", stream, lost.err), true
	case ctx.Err() != nil:
		return ctx.Err(), true
	}
	return nil, false
}
