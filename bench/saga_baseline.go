package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/saga"
)

// baselineSagas is W8's baseline: the fulfilment saga written by hand on
// tables LIKE the saga store's (instances, outbox, checkpoints), doing the
// SQL work a saga needs and nothing else:
//
//   - a handler loop reads the baseline log after its checkpoint (W8's
//     event types, below the horizon, 256 at a time), loads the instances
//     the events concern with one query, applies the transitions in Go and
//     writes the instances (version-checked), the outbox rows and the
//     checkpoint in one transaction, one pipeline;
//   - a dispatcher reserves unsent outbox rows (FOR UPDATE SKIP LOCKED, 128
//     at a time), appends each command's event with the baseline append (8
//     at once) and marks them sent.
//
// No history, parked events, deadlines, leases or wake-ups across
// processes: it polls every 2 ms when idle, and the handler loop wakes the
// dispatcher directly.
type baselineSagas struct {
	e              *env
	events, cmds   *eventstore.Registry
	read, load     string
	insert, update string
	outbox, cp     string
	reserve, sent  string
	completedSQL   string
	checkSQL       string
	checkpointSQL  string
	wake           chan struct{}
}

func (e *env) newBaselineSagas(ctx context.Context, events, cmds *eventstore.Registry) (*baselineSagas, error) {
	t := func(name string) string { return pgmigrate.Table(e.schema, name) }
	for _, name := range []string{"saga_instances", "saga_outbox", "saga_checkpoints"} {
		if _, err := e.pool.Exec(ctx, `CREATE TABLE `+t("baseline_"+name)+` (LIKE `+t(name)+` INCLUDING ALL)`); err != nil {
			return nil, fmt.Errorf("W8: create baseline_%s: %w", name, err)
		}
	}
	inst, outbox, cps := t("baseline_saga_instances"), t("baseline_saga_outbox"), t("baseline_saga_checkpoints")
	return &baselineSagas{
		e: e, events: events, cmds: cmds, wake: make(chan struct{}, 1),
		read: `SELECT ` + baselineColumns + ` FROM ` + t("baseline_events") + `
			WHERE (transaction_id, position) > ($1, $2) AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			AND type = ANY ($3) ORDER BY transaction_id, position LIMIT 256`,
		load: `SELECT id, status, state, version, steps, seq FROM ` + inst + ` WHERE saga = $1 AND id = ANY ($2)`,
		insert: `INSERT INTO ` + inst + ` (saga, id, status, state, version, steps, seq, commit_pos, prepare_pos, started_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, now(), now())`,
		update: `UPDATE ` + inst + ` SET status = $3, state = $4, version = version + 1, steps = $5, seq = $6,
			commit_pos = $7, prepare_pos = $8, updated_at = now() WHERE saga = $1 AND id = $2 AND version = $9`,
		outbox: `INSERT INTO ` + outbox + ` (id, saga, instance_id, seq, type, data, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, now(), now())`,
		cp: `INSERT INTO ` + cps + ` (saga, commit_pos, prepare_pos) VALUES ($1, $2, $3)
			ON CONFLICT (saga) DO UPDATE SET commit_pos = EXCLUDED.commit_pos,
			prepare_pos = EXCLUDED.prepare_pos, updated_at = now()`,
		checkpointSQL: `SELECT commit_pos, prepare_pos FROM ` + cps + ` WHERE saga = $1`,
		reserve: `UPDATE ` + outbox + ` o SET lease_until = now() + interval '30 seconds', attempts = o.attempts + 1
			WHERE o.id IN (SELECT id FROM ` + outbox + ` WHERE saga = $1 AND sent_at IS NULL
				AND (lease_until IS NULL OR lease_until < now()) ORDER BY next_attempt_at LIMIT 128 FOR UPDATE SKIP LOCKED)
			RETURNING o.id, o.instance_id, o.type, o.data`,
		sent:         `UPDATE ` + outbox + ` SET sent_at = now(), lease_until = NULL WHERE id = ANY ($1)`,
		completedSQL: `SELECT count(*) FROM ` + inst + ` WHERE saga = $1 AND status = 'completed'`,
		checkSQL: `SELECT (SELECT count(*) FROM ` + inst + ` WHERE saga = $1),
			(SELECT count(*) FROM ` + inst + ` WHERE saga = $1 AND status = 'completed'),
			(SELECT count(*) FROM ` + outbox + ` WHERE saga = $1 AND sent_at IS NULL)`,
	}, nil
}

// run handles and dispatches until ctx ends.
func (b *baselineSagas) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		if errs[0] = b.handleLoop(ctx); errs[0] != nil {
			cancel()
		}
	})
	wg.Go(func() {
		if errs[1] = b.dispatchLoop(ctx); errs[1] != nil {
			cancel()
		}
	})
	wg.Wait()
	return errors.Join(errs...)
}

func idle(ctx context.Context, wake <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-time.After(2 * time.Millisecond):
	}
	return true
}

type baseInstance struct {
	exists  bool
	version int64
	status  string
	state   fulfilment
	steps   []string
	seq     int64
	changed bool
	pos     eventstore.Position
}

func (b *baselineSagas) handleLoop(ctx context.Context) error {
	var from eventstore.Position
	var c, p int64
	switch err := b.e.pool.QueryRow(ctx, b.checkpointSQL, sagaName).Scan(&c, &p); {
	case err == nil:
		from = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
	case errors.Is(err, pgx.ErrNoRows):
	case ctx.Err() != nil:
		return nil
	default:
		return err
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		rows, err := b.e.pool.Query(ctx, b.read, int64(from.Commit), int64(from.Prepare), sagaEventTypes)
		var batch []eventstore.RecordedEvent
		if err == nil {
			_, err = scanEvents(rows, func(ev eventstore.RecordedEvent) error { batch = append(batch, ev); return nil })
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(batch) == 0 {
			if !idle(ctx, nil) {
				return nil
			}
			continue
		}
		if err := b.handle(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		from = batch[len(batch)-1].Position
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// handle applies one batch of events in one transaction.
func (b *baselineSagas) handle(ctx context.Context, batch []eventstore.RecordedEvent) error {
	vals := make([]any, len(batch))
	var ids []string
	seen := map[string]bool{}
	for i, ev := range batch {
		v, err := b.events.Decode(ev)
		if err != nil {
			return err
		}
		vals[i] = v
		if id := sagaOrderID(v); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	insts := make(map[string]*baseInstance, len(ids))
	rows, err := b.e.pool.Query(ctx, b.load, sagaName, ids)
	if err != nil {
		return err
	}
	var id, status string
	var state, steps []byte
	var version, seq int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &status, &state, &version, &steps, &seq}, func() error {
		in := &baseInstance{exists: true, version: version, status: status, seq: seq}
		if err := json.Unmarshal(state, &in.state); err != nil {
			return err
		}
		if err := json.Unmarshal(steps, &in.steps); err != nil {
			return err
		}
		insts[id] = in
		return nil
	}); err != nil {
		return err
	}
	var q pgx.Batch
	for i, v := range vals {
		id := sagaOrderID(v)
		in := insts[id]
		if in == nil {
			if _, start := v.(sagaOrderPlaced); !start {
				continue // an event of no running instance
			}
			in = &baseInstance{status: string(saga.Running)}
			insts[id] = in
		}
		if in.status != string(saga.Running) {
			continue
		}
		var cmd any
		switch e := v.(type) {
		case sagaOrderPlaced:
			in.state.Stage, cmd = "reserving", reserveStock(e)
		case sagaStockReserved:
			in.steps = append(in.steps, "stock")
			in.state.Stage, cmd = "charging", chargePayment(e)
		case sagaPaymentCharged:
			in.steps = append(in.steps, "payment")
			in.state.Stage, cmd = "confirming", confirmOrder(e)
		case sagaOrderConfirmed:
			in.state.Stage, in.status = "done", string(saga.Completed)
		}
		in.changed, in.pos = true, batch[i].Position
		if cmd != nil {
			enc, err := b.cmds.Encode(cmd, eventstore.Metadata{})
			if err != nil {
				return err
			}
			in.seq++
			q.Queue(b.outbox, saga.CommandID(sagaName, id, in.seq), sagaName, id, in.seq, enc.Type, enc.Data)
		}
	}
	updates := 0
	for id, in := range insts {
		if !in.changed {
			continue
		}
		state, err := json.Marshal(in.state)
		if err != nil {
			return err
		}
		steps, err := json.Marshal(append([]string{}, in.steps...))
		if err != nil {
			return err
		}
		if in.exists {
			q.Queue(b.update, sagaName, id, in.status, state, steps, in.seq, int64(in.pos.Commit), int64(in.pos.Prepare), in.version)
			updates++
		} else {
			q.Queue(b.insert, sagaName, id, in.status, state, steps, in.seq, int64(in.pos.Commit), int64(in.pos.Prepare))
		}
	}
	last := batch[len(batch)-1].Position
	q.Queue(b.cp, sagaName, int64(last.Commit), int64(last.Prepare))
	return pgx.BeginFunc(ctx, b.e.pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &q)
		for range q.Len() {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
}

func (b *baselineSagas) dispatchLoop(ctx context.Context) error {
	type reserved struct {
		id       uuid.UUID
		instance string
		typ      string
		data     []byte
	}
	for {
		rows, err := b.e.pool.Query(ctx, b.reserve, sagaName)
		var cmds []reserved
		if err == nil {
			var c reserved
			_, err = pgx.ForEachRow(rows, []any{&c.id, &c.instance, &c.typ, &c.data}, func() error {
				cmds = append(cmds, c)
				return nil
			})
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(cmds) == 0 {
			if !idle(ctx, b.wake) {
				return nil
			}
			continue
		}
		sem := make(chan struct{}, 8)
		errs := make([]error, len(cmds))
		var wg sync.WaitGroup
		for i, c := range cmds {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = b.send(ctx, c.id, c.instance, c.typ, c.data)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		ids := make([]uuid.UUID, len(cmds))
		for i, c := range cmds {
			ids[i] = c.id
		}
		if _, err := b.e.pool.Exec(ctx, b.sent, ids); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// send runs one command: its event appended with the command's ID.
func (b *baselineSagas) send(ctx context.Context, id uuid.UUID, instance, typ string, data []byte) error {
	cmd, err := b.cmds.Decode(eventstore.RecordedEvent{Event: eventstore.Event{ID: id, Type: typ, Data: data}})
	if err != nil {
		return err
	}
	st, err := stepOf(cmd)
	if err != nil {
		return err
	}
	ev, err := b.events.Encode(st.event, eventstore.Metadata{CorrelationID: instance, CausationID: id.String()})
	if err != nil {
		return err
	}
	ev.ID = id
	if _, ok, err := b.e.baselineAppend(ctx, b.e.pool, st.stream, st.expected, []eventstore.Event{ev}); err != nil || !ok {
		return fmt.Errorf("send %s to %s: ok=%v: %v", typ, st.stream, ok, err)
	}
	return nil
}

func (b *baselineSagas) completed(ctx context.Context) (int, error) {
	var n int
	err := b.e.pool.QueryRow(ctx, b.completedSQL, sagaName).Scan(&n)
	return n, err
}

func (b *baselineSagas) check(ctx context.Context) error {
	var total, completed, unsent int
	if err := b.e.pool.QueryRow(ctx, b.checkSQL, sagaName).Scan(&total, &completed, &unsent); err != nil {
		return err
	}
	if total == 0 || completed != total || unsent != 0 {
		return fmt.Errorf("%d instances, %d completed, %d commands unsent", total, completed, unsent)
	}
	return nil
}
