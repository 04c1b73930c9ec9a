package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/saga"
)

// ReserveCommands implements [saga.Outbox]: one statement, FOR UPDATE SKIP
// LOCKED.
func (s *Store) ReserveCommands(ctx context.Context, name string, now time.Time, reserveFor time.Duration, limit int) ([]saga.Command, error) {
	rows, err := s.pool.Query(ctx, s.sql.reserveCommands, name, now, now.Add(reserveFor), limit)
	out, err := rowsOf(rows, err, scanCommand(name))
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: reserve commands: %w", err)
	}
	return out, nil
}

// MarkSent implements [saga.Outbox]: one round trip (two statements in one
// implicit transaction).
func (s *Store) MarkSent(ctx context.Context, name string, ids []uuid.UUID, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(s.sql.markSent, name, ids, now)
	b.Queue(s.sql.compensated, name, ids, now)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return conflict(name, fmt.Errorf("saga/postgres: mark sent: %w", err))
	}
	return nil
}

// MarkFailed implements [saga.Outbox].
func (s *Store) MarkFailed(ctx context.Context, name string, id uuid.UUID, sendErr string, retryAt time.Time) error {
	if _, err := s.pool.Exec(ctx, s.sql.markFailed, name, id, sendErr, retryAt); err != nil {
		return fmt.Errorf("saga/postgres: mark failed: %w", err)
	}
	return nil
}

// ReserveDeadlines implements [saga.Outbox]: one statement, FOR UPDATE SKIP
// LOCKED.
func (s *Store) ReserveDeadlines(ctx context.Context, name string, now time.Time, reserveFor time.Duration, limit int) ([]saga.Deadline, error) {
	rows, err := s.pool.Query(ctx, s.sql.reserveDeadlines, name, now, now.Add(reserveFor), limit)
	out, err := rowsOf(rows, err, func(r pgx.Rows) (saga.Deadline, error) {
		d := saga.Deadline{Saga: name}
		err := r.Scan(&d.Instance, &d.Name, &d.DueAt, &d.TraceParent, &d.TraceState)
		d.DueAt = d.DueAt.UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: reserve deadlines: %w", err)
	}
	return out, nil
}

func scanCommand(name string) func(pgx.Rows) (saga.Command, error) {
	return func(r pgx.Rows) (saga.Command, error) {
		c := saga.Command{Saga: name}
		var sent *time.Time
		err := r.Scan(&c.ID, &c.Instance, &c.Seq, &c.Type, &c.Data, &c.CausationID, &c.Compensation, &c.Step,
			&c.CreatedAt, &c.Attempts, &c.LastError, &c.NextAttempt, &sent, &c.Refused, &c.TraceParent, &c.TraceState)
		c.CreatedAt, c.NextAttempt = c.CreatedAt.UTC(), c.NextAttempt.UTC()
		if sent != nil {
			c.SentAt = sent.UTC()
		}
		return c, err
	}
}
