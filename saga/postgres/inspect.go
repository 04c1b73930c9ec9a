package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// Instances implements [saga.Inspector].
func (s *Store) Instances(ctx context.Context, name string, q saga.Query) ([]saga.Instance, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, s.sql.instances, name, string(q.Status), q.After, limit)
	out, err := rowsOf(rows, err, scanInstance(name))
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: instances: %w", err)
	}
	return out, nil
}

// Count implements [saga.Inspector].
func (s *Store) Count(ctx context.Context, name string) (map[saga.Status]int, error) {
	rows, err := s.pool.Query(ctx, s.sql.count, name)
	type pair struct {
		s string
		n int
	}
	list, err := rowsOf(rows, err, func(r pgx.Rows) (pair, error) {
		var p pair
		return p, r.Scan(&p.s, &p.n)
	})
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: count: %w", err)
	}
	out := map[saga.Status]int{}
	for _, p := range list {
		out[saga.Status(p.s)] = p.n
	}
	return out, nil
}

// History implements [saga.Inspector].
func (s *Store) History(ctx context.Context, name, id string) (saga.History, error) {
	rows, err := s.pool.Query(ctx, s.sql.one, name, id)
	insts, err := rowsOf(rows, err, scanInstance(name))
	if err != nil {
		return saga.History{}, fmt.Errorf("saga/postgres: history: %w", err)
	}
	if len(insts) == 0 {
		return saga.History{}, fmt.Errorf("%w: %s/%s", saga.ErrNotFound, name, id)
	}
	h := saga.History{Instance: insts[0]}
	rows, err = s.pool.Query(ctx, s.sql.historyOf, name, id)
	h.Entries, err = rowsOf(rows, err, func(r pgx.Rows) (saga.HistoryEntry, error) {
		e := saga.HistoryEntry{Saga: name, Instance: id}
		var kind, eid string
		var pc, pp int64
		if err := r.Scan(&e.At, &kind, &eid, &e.EventType, &pc, &pp, &e.Detail); err != nil {
			return e, err
		}
		e.At, e.Kind = e.At.UTC(), saga.HistoryKind(kind)
		e.Position = eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)}
		if eid != "" {
			if err := e.EventID.UnmarshalText([]byte(eid)); err != nil {
				return e, err
			}
		}
		return e, nil
	})
	if err == nil {
		rows, err = s.pool.Query(ctx, s.sql.commandsOf, name, id)
		h.Commands, err = rowsOf(rows, err, scanCommand(name))
	}
	if err == nil {
		rows, err = s.pool.Query(ctx, s.sql.deadlinesOf, name, id)
		h.Deadlines, err = rowsOf(rows, err, func(r pgx.Rows) (saga.Deadline, error) {
			d := saga.Deadline{Saga: name, Instance: id}
			err := r.Scan(&d.Name, &d.DueAt)
			d.DueAt = d.DueAt.UTC()
			return d, err
		})
	}
	if err == nil {
		rows, err = s.pool.Query(ctx, s.sql.parkedOf, name, id)
		h.Parked, err = rowsOf(rows, err, scanParked(name))
	}
	if err != nil {
		return saga.History{}, fmt.Errorf("saga/postgres: history: %w", err)
	}
	return h, nil
}

// ParkedEvents implements [saga.Inspector].
func (s *Store) ParkedEvents(ctx context.Context, name string) ([]saga.Parked, error) {
	rows, err := s.pool.Query(ctx, s.sql.parkedAll, name)
	out, err := rowsOf(rows, err, scanParked(name))
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: parked: %w", err)
	}
	return out, nil
}

// FailingCommands implements [saga.Inspector].
func (s *Store) FailingCommands(ctx context.Context, name string) ([]saga.Command, error) {
	rows, err := s.pool.Query(ctx, s.sql.failing, name)
	out, err := rowsOf(rows, err, scanCommand(name))
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: failing commands: %w", err)
	}
	return out, nil
}

func scanParked(name string) func(pgx.Rows) (saga.Parked, error) {
	return func(r pgx.Rows) (saga.Parked, error) {
		p := saga.Parked{Saga: name}
		var sv, pc, pp int64
		var at time.Time
		err := r.Scan(&p.Instance, &p.EventID, &p.EventType, &p.StreamID, &sv, &pc, &pp, &p.Error, &p.Attempts, &at)
		p.Version, p.Position, p.ParkedAt = uint64(sv), eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)}, at.UTC()
		return p, err
	}
}
