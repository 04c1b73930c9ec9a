package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/saga"
)

var _ saga.BacklogReader = (*Store)(nil)

// Backlog implements [saga.BacklogReader]: one query over the outbox's
// and the deadlines' indexes.
func (s *Store) Backlog(ctx context.Context, name string, now time.Time) (saga.Backlog, error) {
	out, dl := pgmigrate.Table(s.cfg.Schema, "saga_outbox"), pgmigrate.Table(s.cfg.Schema, "saga_deadlines")
	var b saga.Backlog
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT o.n, o.oldest, (SELECT count(*) FROM `+dl+` WHERE saga = $1 AND due_at <= $2)
FROM (SELECT count(*) AS n, min(created_at) AS oldest FROM `+out+` WHERE saga = $1 AND sent_at IS NULL) AS o`, name, now).
		Scan(&b.Pending, &oldest, &b.DeadlinesDue)
	if err != nil {
		return saga.Backlog{}, fmt.Errorf("saga/postgres: backlog: %w", err)
	}
	if oldest != nil {
		b.Oldest = oldest.UTC()
	}
	return b, nil
}
