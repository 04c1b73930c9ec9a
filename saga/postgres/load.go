package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// Load implements [saga.StateStore]: one query.
func (s *Store) Load(ctx context.Context, name string, ids []string) (map[string]saga.Instance, error) {
	rows, err := s.pool.Query(ctx, s.sql.load, name, ids)
	list, err := rowsOf(rows, err, scanInstance(name))
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: load: %w", err)
	}
	out := make(map[string]saga.Instance, len(list))
	for _, i := range list {
		out[i.ID] = i
	}
	return out, nil
}

// Checkpoint implements [saga.StateStore].
func (s *Store) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var c, p int64
	err := s.pool.QueryRow(ctx, s.sql.getCheckpoint, name).Scan(&c, &p)
	if err == pgx.ErrNoRows {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("saga/postgres: checkpoint: %w", err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}, nil
}

func scanInstance(name string) func(pgx.Rows) (saga.Instance, error) {
	return func(r pgx.Rows) (saga.Instance, error) {
		i := saga.Instance{Saga: name}
		var status, steps string
		var pc, pp int64
		if err := r.Scan(&i.ID, &status, &i.Reason, &i.State, &i.Version, &steps, &i.Seq, &pc, &pp, &i.StartedAt, &i.UpdatedAt); err != nil {
			return i, err
		}
		i.Status = saga.Status(status)
		i.Position = eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)}
		if err := json.Unmarshal([]byte(steps), &i.Steps); err != nil {
			return i, fmt.Errorf("steps of %s: %w", i.ID, err)
		}
		if len(i.Steps) == 0 {
			i.Steps = nil
		}
		i.StartedAt, i.UpdatedAt = i.StartedAt.UTC(), i.UpdatedAt.UTC()
		return i, nil
	}
}
