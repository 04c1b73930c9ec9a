package memory

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/saga"
)

var _ saga.BacklogReader = (*Store)(nil)

// Backlog implements [saga.BacklogReader].
func (s *Store) Backlog(ctx context.Context, name string, now time.Time) (saga.Backlog, error) {
	if err := ctx.Err(); err != nil {
		return saga.Backlog{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b saga.Backlog
	for k, rows := range s.pending {
		if k.saga != name {
			continue
		}
		for _, r := range rows {
			b.Pending++
			if b.Oldest.IsZero() || r.CreatedAt.Before(b.Oldest) {
				b.Oldest = r.CreatedAt
			}
		}
	}
	for k, d := range s.deadlines {
		if k.saga == name && !d.DueAt.After(now) {
			b.DeadlinesDue++
		}
	}
	return b, nil
}
