package saga

import (
	"context"
	"errors"
	"time"

	"github.com/chronicle-go/chronicle/internal/backoff"
)

// FireDeadlines runs one round of the deadline scheduler: it reserves the
// deadlines of this saga due by the engine's clock (rows locked with FOR
// UPDATE SKIP LOCKED on PostgreSQL, so several processes share the work)
// and, per deadline, in one transaction: runs the deadline's handler (by
// default the saga fails and compensates), stores the new state, queues the
// commands and removes the deadline. A deadline of a finished instance is
// removed and recorded as ignored. FireDeadlines returns how many deadlines
// it reserved.
func (e *Engine) FireDeadlines(ctx context.Context) (int, error) {
	ds, err := e.store.ReserveDeadlines(ctx, e.Name(), e.now(), e.cfg.ReserveFor, e.cfg.DeadlineBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, d := range ds {
		if err := e.fire(ctx, d); err != nil {
			if ctx.Err() != nil {
				return len(ds), ctx.Err()
			}
			e.log.Warn("saga: deadline failed; it fires again when its reservation expires", "instance", d.Instance, "deadline", d.Name, "error", err)
			errs = append(errs, err)
		}
	}
	return len(ds), errors.Join(errs...)
}

func (e *Engine) fire(ctx context.Context, d Deadline) error {
	name := e.Name()
	for attempt := 1; ; attempt++ {
		now := e.now()
		loaded, err := e.store.Load(ctx, name, []string{d.Instance})
		if err != nil {
			return err
		}
		c := Commit{Saga: name, Fired: []Deadline{d}}
		inst, ok := loaded[d.Instance]
		w := &working{inst: inst, expected: inst.Version, live: ok, deadlines: map[string]*time.Time{}}
		switch {
		case !ok:
		case inst.Status.Finished():
			c.History = append(c.History, note(w, now, DeadlineIgnored, d.Name+": instance is "+string(inst.Status)))
		default:
			sctx, st := e.tel.startDeadline(ctx, d)
			out, err := e.runDeadline(sctx, inst, d.Name, now)
			if err != nil {
				err = &HandlerError{Saga: name, Instance: d.Instance, What: "deadline " + d.Name, Err: err}
				e.tel.end(ctx, st, name, "deadline", "", err)
				return err
			}
			c.History = append(c.History, note(w, now, DeadlineFired, d.Name))
			if summary := e.apply(&c, w, out, "deadline:"+d.Name, now); summary != "" {
				c.History[0].Detail += ": " + summary
			}
			st.stamp(&c, 0, w)
			e.tel.end(ctx, st, name, "deadline", w.inst.Status, nil)
			e.flush(&c, w)
		}
		err = e.store.Commit(ctx, c)
		switch {
		case err == nil:
			if len(c.Commands) > 0 {
				e.poke()
			}
			return nil
		case errors.Is(err, ErrConflict) && attempt < 5 && ctx.Err() == nil:
			continue // the instance moved on; look again
		case errors.Is(err, ErrConflict):
			return nil // cancelled or rescheduled meanwhile: nothing to fire
		}
		return err
	}
}

func (e *Engine) runDeadline(ctx context.Context, inst Instance, name string, now time.Time) (outcome, error) {
	var err error
	for attempt := 1; attempt <= e.cfg.HandlerAttempts; attempt++ {
		var out outcome
		if out, err = e.def.runDeadline(ctx, inst, name, now); err == nil {
			return out, nil
		}
		if attempt < e.cfg.HandlerAttempts && !backoff.Sleep(ctx, e.cfg.HandlerBackoff) {
			return outcome{}, ctx.Err()
		}
	}
	return outcome{}, err
}

func (e *Engine) deadlineLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := e.FireDeadlines(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("saga: deadline round failed", "error", err)
		}
		if n == e.cfg.DeadlineBatch && err == nil {
			continue
		}
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
