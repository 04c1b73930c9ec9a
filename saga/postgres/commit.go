package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/saga"
)

// Commit implements [saga.StateStore]: one transaction, three round trips.
func (s *Store) Commit(ctx context.Context, c saga.Commit) (err error) {
	if c.IsZero() {
		return nil
	}
	b := &pgx.Batch{}
	type check struct {
		want int64
		fail func() error
	}
	var checks []check // one per statement that returns a count, in order
	counted := func(sql string, want int, fail func() error, args ...any) {
		b.Queue(sql, args...)
		checks = append(checks, check{int64(want), fail})
	}
	plain := func(sql string, args ...any) {
		b.Queue(sql, args...)
		checks = append(checks, check{want: -1})
	}

	var ins, upd instanceArrays
	for _, w := range c.Instances {
		if w.Expected == 0 {
			ins.add(w)
		} else {
			upd.add(w)
		}
	}
	if len(ins.id) > 0 {
		counted(s.sql.insertInst, len(ins.id), func() error {
			return &saga.ConflictError{Saga: c.Saga, Instance: ins.id[0], Reason: "instance already exists"}
		}, ins.args(c.Saga)...)
	}
	if len(upd.id) > 0 {
		counted(s.sql.updateInst, len(upd.id), func() error {
			return &saga.ConflictError{Saga: c.Saga, Instance: upd.id[0], Expected: upd.version[0] - 1, Reason: "version moved"}
		}, upd.args(c.Saga)...)
	}
	if len(c.Fired) > 0 {
		inst, name, due := deadlineArrays(c.Fired)
		counted(s.sql.fired, len(c.Fired), func() error {
			return &saga.ConflictError{Saga: c.Saga, Instance: inst[0], Reason: "deadline " + name[0] + " is no longer pending"}
		}, c.Saga, inst, name, due)
	}
	if len(c.Cancel) > 0 {
		inst, name, _ := deadlineArrays(c.Cancel)
		plain(s.sql.cancel, c.Saga, inst, name)
	}
	if n := len(c.Schedule); n > 0 {
		inst, name, due := deadlineArrays(c.Schedule)
		tp, ts := make([]string, n), make([]string, n)
		for i, d := range c.Schedule {
			tp[i], ts[i] = d.TraceParent, d.TraceState
		}
		plain(s.sql.schedule, c.Saga, inst, name, due, tp, ts)
	}
	if n := len(c.Commands); n > 0 {
		ids, inst, seq := make([]uuid.UUID, n), make([]string, n), make([]int64, n)
		typ, data, cause := make([]string, n), make([][]byte, n), make([]string, n)
		comp, step, created, next := make([]bool, n), make([]string, n), make([]time.Time, n), make([]time.Time, n)
		tp, ts := make([]string, n), make([]string, n)
		for i, cmd := range c.Commands {
			ids[i], inst[i], seq[i], typ[i], data[i], cause[i] = cmd.ID, cmd.Instance, cmd.Seq, cmd.Type, cmd.Data, cmd.CausationID
			comp[i], step[i], created[i], next[i] = cmd.Compensation, cmd.Step, cmd.CreatedAt, cmd.NextAttempt
			tp[i], ts[i] = cmd.TraceParent, cmd.TraceState
			if data[i] == nil {
				data[i] = []byte{}
			}
		}
		plain(s.sql.outbox, c.Saga, ids, inst, seq, typ, data, cause, comp, step, created, next, tp, ts)
	}
	if n := len(c.History); n > 0 {
		inst, at, kind, eid, etype := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n)
		pc, pp, detail := make([]int64, n), make([]int64, n), make([]string, n)
		for i, h := range c.History {
			inst[i], at[i], kind[i], etype[i], detail[i] = h.Instance, h.At, string(h.Kind), h.EventType, h.Detail
			if h.EventID != uuid.Nil {
				eid[i] = h.EventID.String()
			}
			pc[i], pp[i] = int64(h.Position.Commit), int64(h.Position.Prepare)
		}
		plain(s.sql.history, c.Saga, inst, at, kind, eid, etype, pc, pp, detail)
	}
	if n := len(c.Unparked); n > 0 {
		counted(s.sql.unparked, n, func() error {
			return &saga.ConflictError{Saga: c.Saga, Reason: "a retried event is no longer parked"}
		}, c.Saga, c.Unparked)
	}
	if n := len(c.Parked); n > 0 {
		inst, eid, etype, stream := make([]string, n), make([]uuid.UUID, n), make([]string, n), make([]string, n)
		sv, pc, pp, perr, attempts, at := make([]int64, n), make([]int64, n), make([]int64, n), make([]string, n), make([]int32, n), make([]time.Time, n)
		for i, p := range c.Parked {
			inst[i], eid[i], etype[i], stream[i] = p.Instance, p.EventID, p.EventType, p.StreamID
			sv[i], pc[i], pp[i] = int64(p.Version), int64(p.Position.Commit), int64(p.Position.Prepare)
			perr[i], attempts[i], at[i] = p.Error, int32(p.Attempts), p.ParkedAt
		}
		plain(s.sql.parked, c.Saga, inst, eid, etype, stream, sv, pc, pp, perr, attempts, at)
	}
	if n := len(c.Refused); n > 0 {
		ids, errs, at := make([]uuid.UUID, n), make([]string, n), make([]time.Time, n)
		for i, r := range c.Refused {
			ids[i], errs[i], at[i] = r.ID, r.Error, r.At
		}
		counted(s.sql.refused, n, func() error {
			return &saga.ConflictError{Saga: c.Saga, Reason: "a refused command is no longer pending"}
		}, c.Saga, ids, errs, at)
	}
	if cp := c.Checkpoint; cp != nil {
		b.Queue(s.sql.checkpoint, c.Saga, int64(cp.Position.Commit), int64(cp.Position.Prepare), cp.Token)
		checks = append(checks, check{want: -2})
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("saga/postgres: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	res := tx.SendBatch(ctx, b)
	for _, ch := range checks {
		switch ch.want {
		case -1:
			if _, err := res.Exec(); err != nil {
				res.Close()
				return conflict(c.Saga, fmt.Errorf("saga/postgres: commit: %w", err))
			}
		case -2:
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return fmt.Errorf("saga/postgres: checkpoint: %w", err)
			}
			if tag.RowsAffected() != 1 {
				res.Close()
				return fmt.Errorf("%w: %s: checkpoint token %d is not the latest", saga.ErrLeaseLost, c.Saga, c.Checkpoint.Token)
			}
		default:
			var n int64
			if err := res.QueryRow().Scan(&n); err != nil {
				res.Close()
				return conflict(c.Saga, fmt.Errorf("saga/postgres: commit: %w", err))
			}
			if n != ch.want {
				res.Close()
				return ch.fail()
			}
		}
	}
	if err = res.Close(); err != nil {
		return conflict(c.Saga, fmt.Errorf("saga/postgres: commit: %w", err))
	}
	if err = tx.Commit(ctx); err != nil {
		return conflict(c.Saga, fmt.Errorf("saga/postgres: commit: %w", err))
	}
	return nil
}

type instanceArrays struct {
	id, status, reason []string
	state              [][]byte
	version            []int64
	steps              []string
	seq, pc, pp        []int64
	started, updated   []time.Time
}

func (a *instanceArrays) add(w saga.InstanceWrite) {
	i := w.Instance
	steps, _ := json.Marshal(i.Steps)
	if i.Steps == nil {
		steps = []byte("[]")
	}
	state := i.State
	if state == nil {
		state = []byte{}
	}
	a.id = append(a.id, i.ID)
	a.status = append(a.status, string(i.Status))
	a.reason = append(a.reason, i.Reason)
	a.state = append(a.state, state)
	a.version = append(a.version, w.Expected+1)
	a.steps = append(a.steps, string(steps))
	a.seq = append(a.seq, i.Seq)
	a.pc = append(a.pc, int64(i.Position.Commit))
	a.pp = append(a.pp, int64(i.Position.Prepare))
	a.started = append(a.started, i.StartedAt)
	a.updated = append(a.updated, i.UpdatedAt)
}

func (a *instanceArrays) args(sagaName string) []any {
	return []any{sagaName, a.id, a.status, a.reason, a.state, a.version, a.steps, a.seq, a.pc, a.pp, a.started, a.updated}
}

func deadlineArrays(ds []saga.Deadline) (inst, name []string, due []time.Time) {
	for _, d := range ds {
		inst = append(inst, d.Instance)
		name = append(name, d.Name)
		due = append(due, d.DueAt)
	}
	return inst, name, due
}
