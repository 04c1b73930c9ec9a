package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/console"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// maxList bounds the parked events and failing commands a page lists.
const maxList = console.MaxPageSize

// Summaries implements [console.Sagas]: every saga with instances, a
// checkpoint or parked events.
func (s *Source) Summaries(ctx context.Context) ([]console.SagaSummary, error) {
	by := map[string]*console.SagaSummary{}
	get := func(name string) *console.SagaSummary {
		if by[name] == nil {
			by[name] = &console.SagaSummary{Name: name, Counts: map[saga.Status]int{}}
		}
		return by[name]
	}
	rows, err := s.pool.Query(ctx, s.sql.sagaCounts)
	if err != nil {
		return nil, fmt.Errorf("console/postgres: sagas: %w", err)
	}
	var name, status string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&name, &status, &n}, func() error {
		sm := get(name)
		if status != "" {
			sm.Counts[saga.Status(status)] += n
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("console/postgres: sagas: %w", err)
	}
	for _, q := range []struct {
		sql string
		set func(*console.SagaSummary, int)
	}{
		{s.sql.sagaParked, func(sm *console.SagaSummary, n int) { sm.Parked = n }},
		{s.sql.sagaFailing, func(sm *console.SagaSummary, n int) { sm.Failing = n }},
	} {
		rows, err := s.pool.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("console/postgres: sagas: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { q.set(get(name), n); return nil }); err != nil {
			return nil, fmt.Errorf("console/postgres: sagas: %w", err)
		}
	}
	out := make([]console.SagaSummary, 0, len(by))
	for _, sm := range by {
		out = append(out, *sm)
	}
	slices.SortFunc(out, func(a, b console.SagaSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Instances implements [console.Sagas].
func (s *Source) Instances(ctx context.Context, name string, q saga.Query) ([]saga.Instance, error) {
	return s.sagas.Instances(ctx, name, q)
}

// History implements [console.Sagas].
func (s *Source) History(ctx context.Context, name, id string) (saga.History, error) {
	return s.sagas.History(ctx, name, id)
}

// Parked implements [console.Sagas]: the oldest 500 parked events.
func (s *Source) Parked(ctx context.Context, name string) ([]saga.Parked, error) {
	rows, err := s.pool.Query(ctx, s.sql.parked, name, maxList)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (saga.Parked, error) {
		p := saga.Parked{Saga: name}
		var sv, pc, pp int64
		err := r.Scan(&p.Instance, &p.EventID, &p.EventType, &p.StreamID, &sv, &pc, &pp, &p.Error, &p.Attempts, &p.ParkedAt)
		p.Version, p.Position, p.ParkedAt = uint64(sv), eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)}, p.ParkedAt.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("console/postgres: parked: %w", err)
	}
	return out, nil
}

func scanCommand(r pgx.CollectableRow) (saga.Command, error) {
	var c saga.Command
	var sent *time.Time
	err := r.Scan(&c.ID, &c.Saga, &c.Instance, &c.Seq, &c.Type, &c.Data, &c.CausationID, &c.Compensation, &c.Step,
		&c.CreatedAt, &c.Attempts, &c.LastError, &c.NextAttempt, &sent)
	c.CreatedAt, c.NextAttempt = c.CreatedAt.UTC(), c.NextAttempt.UTC()
	if sent != nil {
		c.SentAt = sent.UTC()
	}
	return c, err
}

// FailingCommands implements [console.Sagas]: the oldest 500 unsent
// commands whose sends failed.
func (s *Source) FailingCommands(ctx context.Context, name string) ([]saga.Command, error) {
	rows, err := s.pool.Query(ctx, s.sql.failing, name, maxList)
	out, err := pgx.CollectRows(rows, scanCommand)
	if err != nil {
		return nil, fmt.Errorf("console/postgres: failing commands: %w", err)
	}
	return out, nil
}

// Commands implements [console.Sagas], through the outbox's primary key.
func (s *Source) Commands(ctx context.Context, ids []uuid.UUID) ([]saga.Command, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.sql.commands, ids)
	out, err := pgx.CollectRows(rows, scanCommand)
	if err != nil {
		return nil, fmt.Errorf("console/postgres: commands: %w", err)
	}
	return out, nil
}

// CanRetryParked implements [console.SagaRetrier]: whether [Config.Sagas]
// holds the saga's engine.
func (s *Source) CanRetryParked(name string) bool {
	for _, e := range s.cfg.Sagas {
		if e != nil && e.Name() == name {
			return true
		}
	}
	return false
}

// RetryParked implements [console.SagaRetrier] through the engine of that
// name in [Config.Sagas]; without one it fails with
// [console.ErrUnsupported].
func (s *Source) RetryParked(ctx context.Context, name string, eventID uuid.UUID) error {
	for _, e := range s.cfg.Sagas {
		if e != nil && e.Name() == name {
			return e.RetryParked(ctx, eventID)
		}
	}
	return fmt.Errorf("retrying a parked event of saga %q runs its code: give the console the application's engine (see docs/console.md): %w",
		name, console.ErrUnsupported)
}
