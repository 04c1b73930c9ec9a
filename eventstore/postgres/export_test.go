package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetFetchAheadAlways makes every stream read fetch its next page while it
// delivers the current one, whatever the consumer's pace, until the test
// ends (tests that use it must not run in parallel).
func SetFetchAheadAlways(t interface{ Cleanup(func()) }) {
	fetchAheadAlways.Store(true)
	t.Cleanup(func() { fetchAheadAlways.Store(false) })
}

// WakeUps reports how many times s's notifier ran its statement, and how
// many NOTIFYs it sent (see sql/notify.sql).
func WakeUps(s *Store) (tried, sent int64) {
	return s.wakeUps.tried.Load(), s.wakeUps.sent.Load()
}

// Wired reports whether s runs its single-statement append of n events on
// c on the wire (see Store.insertWire), preparing it on c.
func Wired(ctx context.Context, s *Store, c *pgx.Conn, n int) (bool, error) {
	_, sd, err := s.appendStmt(n).on(ctx, c)
	return s.onWire(sd, n), err
}
