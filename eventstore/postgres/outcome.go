package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/eventstore"
)

// An append whose reply is lost.
//
// A writing statement is sent on one connection. When the call's context
// ends, or the connection fails, after the statement may have left, the
// client gives up on it — but the server may still run it to the end and
// commit, or may not even have read it yet (it sits in the socket's
// buffer). Looking the event IDs up proves nothing while that server
// session lives: the lookup could run before the commit. So the store
// settles such an outcome in two steps, on a context of its own bounded by
// [Config.ResolveTimeout]:
//
//  1. It waits until the server session that got the statement has ended:
//     its pid is gone from pg_stat_activity. The client has closed its end,
//     so the session ends right after the statement (or at once, if it
//     never read it); one still there and matching the connection (pid and
//     client port) is terminated, which stops a statement that has not
//     committed and never lets an unread one start. A transaction that is
//     committing finishes first. A session's transaction has ended,
//     committed or rolled back, before its pid leaves pg_stat_activity.
//  2. It looks the event IDs up. The append is stored when they are all
//     there, in order, in its stream, right after its expected version (what
//     an idempotent retry would find); otherwise it is not.
//
// If either step fails (the server cannot be reached, the bound passes),
// the outcome stays unknown: an [*eventstore.OutcomeUnknownError].

// session identifies the server session a statement was sent on.
type session struct {
	pid uint32
	// port is the client's TCP port as the server sees it (its
	// pg_stat_activity.client_port), 0 when the connection is not TCP.
	port int
}

func sessionOf(c *pgx.Conn) session {
	s := session{pid: c.PgConn().PID()}
	if a, ok := c.PgConn().Conn().LocalAddr().(*net.TCPAddr); ok {
		s.port = a.Port
	}
	return s
}

// uncertain reports whether a statement that failed with err may still
// have been run and committed by the server.
func uncertain(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, pgconn.ErrConnClosed) {
		// pgx claims SafeToRetry for "conn closed", yet returns it for a
		// request it did send: a reader that meets a failed read closes
		// the connection, ignores that error and fails on the closed
		// connection instead (pgconn.MultiResultReader.NextResult, the
		// path of Exec("commit")). A COMMIT whose reply was cut off came
		// back so while the server committed it.
		return true
	}
	if pgconn.SafeToRetry(err) { // nothing was sent
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered: the statement failed and its implicit
		// transaction with it — unless the session itself was ended.
		return pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
	}
	return true // the context ended, the network failed: no answer
}

// lostReply is the error of a write whose reply was lost, once the store
// has found out that it was not stored: the original error.
type lostReply struct{ err error }

func (e *lostReply) Error() string { return e.err.Error() }
func (e *lostReply) Unwrap() error { return e.err }

// onSession runs fn, a writing statement of the append a, on a connection
// of the pool. When fn fails in a way that leaves its outcome open, it
// settles it: settled is the append's result when it turns out stored;
// otherwise err is a *lostReply (known not stored) or an
// *eventstore.OutcomeUnknownError. Other errors come back as they are.
func (s *Store) onSession(ctx context.Context, a appendArgs, fn func(c *pgx.Conn) error) (settled *eventstore.AppendResult, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err // nothing was sent
	}
	sess := sessionOf(c.Conn())
	err = fn(c.Conn())
	if !uncertain(err) {
		c.Release()
		return nil, err
	}
	// Make sure our end is closed, so the server session ends after the
	// statement (pgx closes it when a context ends or the network fails).
	closeConn(ctx, c.Conn())
	c.Release()
	res, stored, serr := s.settle(ctx, sess, a, err)
	if serr != nil {
		return nil, serr
	}
	if stored {
		return &res, nil
	}
	return nil, &lostReply{err: err}
}

// closeConn closes c if it is still open, bounded.
func closeConn(ctx context.Context, c *pgx.Conn) {
	if c.IsClosed() {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = c.Close(cctx)
}

// settle finds out whether the append a, sent on sess and cut short by
// cause, was stored (see the top of this file). It returns an
// *eventstore.OutcomeUnknownError when it cannot tell.
func (s *Store) settle(ctx context.Context, sess session, a appendArgs, cause error) (eventstore.AppendResult, bool, error) {
	var res eventstore.AppendResult
	stored, err := s.resolve(ctx, sess, func(ctx context.Context) (bool, error) {
		var stored bool
		var err error
		res, stored, err = s.lookup(ctx, a)
		return stored, err
	})
	if err != nil {
		ids := make([]uuid.UUID, len(a.ids))
		for i, id := range a.ids {
			ids[i] = id
		}
		return eventstore.AppendResult{}, false, &eventstore.OutcomeUnknownError{Stream: a.stream, Expected: a.expected, EventIDs: ids,
			Err: fmt.Errorf("%w; then %w", cause, err)}
	}
	if stored {
		s.NotifyAppended()
	}
	return res, stored, nil
}

// resolve waits, on a context of its own bounded by Config.ResolveTimeout,
// until the server session sess has ended, then asks stored whether what
// was sent on it is stored. The error says why it could not tell.
func (s *Store) resolve(ctx context.Context, sess session, stored func(context.Context) (bool, error)) (bool, error) {
	if s.cfg.ResolveTimeout < 0 {
		return false, errors.New("Config.ResolveTimeout is negative: not resolved")
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ResolveTimeout)
	defer cancel()
	if err := s.awaitSessionEnd(rctx, sess); err != nil {
		return false, fmt.Errorf("waiting for the server session that got it to end: %w", err)
	}
	ok, err := stored(rctx)
	if err != nil {
		return false, fmt.Errorf("looking it up: %w", err)
	}
	return ok, nil
}

// errNoSessions: the pool's connections do not report the server session
// they talk to, so a lost reply cannot be settled.
var errNoSessions = errors.New("postgres: the pool's connections do not report their server session's pid " +
	"(a connection pooler such as PgBouncer between the store and PostgreSQL?): the outcome of an append whose reply is lost cannot be settled")

// checkSessions finds out, once, whether the pid a connection reports (in
// the protocol's BackendKeyData) is its server session's: not so behind a
// connection pooler, which hands out keys of its own.
func (s *Store) checkSessions(ctx context.Context) error {
	switch s.sessions.Load() {
	case sessionsKnown:
		return nil
	case sessionsHidden:
		return errNoSessions
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	var pid int32
	if err := c.QueryRow(ctx, s.sql.backendPID).Scan(&pid); err != nil {
		return err
	}
	if uint32(pid) != c.Conn().PgConn().PID() {
		s.sessions.Store(sessionsHidden)
		return errNoSessions
	}
	s.sessions.Store(sessionsKnown)
	return nil
}

// States of Store.sessions.
const (
	sessionsUnchecked = iota
	sessionsKnown
	sessionsHidden
)

// awaitSessionEnd waits until the server session sess has ended,
// terminating it if it is still there and is the one the statement was sent
// on (same pid and client port: a pid alone may have been reused).
func (s *Store) awaitSessionEnd(ctx context.Context, sess session) error {
	if err := s.checkSessions(ctx); err != nil {
		return err
	}
	wait := time.Millisecond
	terminated := false
	for {
		var present, same bool
		err := s.pool.QueryRow(ctx, s.sql.sessionAlive, int32(sess.pid), sess.port).Scan(&present, &same)
		if err != nil {
			return err
		}
		if !present {
			return nil
		}
		if same && sess.port > 0 && !terminated {
			// Still there: end it. A statement it has not run yet never
			// runs; one that has not committed rolls back; a commit in
			// progress completes first. Without the right to (another
			// role's session), keep waiting.
			_, _ = s.pool.Exec(ctx, s.sql.terminate, int32(sess.pid))
			terminated = true
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// storedEvent is where an event ID is stored.
type storedEvent struct {
	stream   string
	version  int64
	tid, pos int64
}

// lookup tells whether the append a is stored: every one of its event IDs,
// in order, in its stream, at consecutive versions right after its expected
// version (what an idempotent retry of it would find).
func (s *Store) lookup(ctx context.Context, a appendArgs) (eventstore.AppendResult, bool, error) {
	found, err := s.findIDs(ctx, a.ids)
	if err != nil || len(found) == 0 {
		return eventstore.AppendResult{}, false, err
	}
	first, ok := found[a.ids[0]]
	if !ok || first.stream != a.stream {
		return eventstore.AppendResult{}, false, nil
	}
	switch a.kind {
	case kindNoStream:
		ok = first.version == 1
	case kindExact:
		ok = first.version == a.version+1
	}
	if !ok {
		return eventstore.AppendResult{}, false, nil
	}
	res := eventstore.AppendResult{Version: uint64(first.version) + uint64(len(a.ids)) - 1, Positions: make([]eventstore.Position, len(a.ids))}
	for i, id := range a.ids {
		e, ok := found[id]
		if !ok || e.stream != a.stream || e.version != first.version+int64(i) {
			return eventstore.AppendResult{}, false, nil
		}
		res.Positions[i] = eventstore.Position{Commit: uint64(e.tid), Prepare: uint64(e.pos)}
	}
	return res, true, nil
}

// findIDs returns where each of ids that is stored is.
func (s *Store) findIDs(ctx context.Context, ids [][16]byte) (map[[16]byte]storedEvent, error) {
	rows, err := s.pool.Query(ctx, s.sql.findIDs, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[[16]byte]storedEvent, len(ids))
	for rows.Next() {
		var id [16]byte
		var e storedEvent
		if err := rows.Scan(&id, &e.stream, &e.version, &e.tid, &e.pos); err != nil {
			return nil, err
		}
		found[id] = e
	}
	return found, rows.Err()
}
