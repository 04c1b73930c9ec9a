package saga

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// runtime is what the engine needs from a Definition[S], without S.
type runtime interface {
	sagaName() string
	eventTypes() []string
	commands() *eventstore.Registry
	// route decodes e and finds its instance; ok is false for an event type
	// the saga does not handle.
	route(e eventstore.RecordedEvent) (r routed, ok bool, err error)
	runEvent(ctx context.Context, inst Instance, r routed, now time.Time) (outcome, error)
	runDeadline(ctx context.Context, inst Instance, name string, now time.Time) (outcome, error)
	// runRefused fails the instance with reason: a command it sent was
	// refused for good.
	runRefused(ctx context.Context, inst Instance, reason string, now time.Time) (outcome, error)
}

type routed struct {
	id    string
	start bool
	value any
	h     any // *eventHandler[S]
}

// outcome is a handler run's result, encoded.
type outcome struct {
	state    []byte
	commands []queued
	stepped  []string
	schedule []Deadline
	cancel   []string
	status   Status // the new status; Running if unchanged
	reason   string
}

type queued struct {
	typ          string
	data         []byte
	compensation bool
	step         string
}

var _ runtime = (*Definition[struct{}])(nil)

func (d *Definition[S]) sagaName() string               { return d.name }
func (d *Definition[S]) eventTypes() []string           { return d.EventTypes() }
func (d *Definition[S]) commands() *eventstore.Registry { return d.opts.Commands }

func (d *Definition[S]) route(e eventstore.RecordedEvent) (routed, bool, error) {
	h := d.handlers[e.Type]
	if h == nil {
		return routed{}, false, nil
	}
	v, err := h.decode(d.opts.Events, e)
	if err != nil {
		return routed{}, true, err
	}
	return routed{id: h.correlate(v), start: h.start, value: v, h: h}, true, nil
}

func (d *Definition[S]) runEvent(ctx context.Context, inst Instance, r routed, now time.Time) (outcome, error) {
	h := r.h.(*eventHandler[S])
	return d.run(ctx, inst, now, func(ctx context.Context, s *Scope[S]) error { return h.handle(ctx, s, r.value) })
}

func (d *Definition[S]) runDeadline(ctx context.Context, inst Instance, name string, now time.Time) (outcome, error) {
	h := d.deadlines[name]
	if h == nil {
		h = func(_ context.Context, s *Scope[S]) error {
			s.Fail("deadline " + name + " expired")
			return nil
		}
	}
	return d.run(ctx, inst, now, h)
}

func (d *Definition[S]) runRefused(ctx context.Context, inst Instance, reason string, now time.Time) (outcome, error) {
	return d.run(ctx, inst, now, func(_ context.Context, s *Scope[S]) error {
		s.Fail(reason)
		return nil
	})
}

func (d *Definition[S]) run(ctx context.Context, inst Instance, now time.Time, f func(context.Context, *Scope[S]) error) (out outcome, err error) {
	var st S
	if len(inst.State) > 0 {
		if err := d.opts.StateCodec.Unmarshal(inst.State, &st); err != nil {
			return outcome{}, fmt.Errorf("saga: decode state of %s/%s: %w", d.name, inst.ID, err)
		}
	}
	sc := &Scope[S]{id: inst.ID, now: now, state: &st, done: inst.Steps, steps: d.steps}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saga: handler panicked: %v", p)
		}
	}()
	if err := f(ctx, sc); err != nil {
		return outcome{}, err
	}
	if len(sc.errs) > 0 {
		return outcome{}, errors.Join(sc.errs...)
	}
	if out.state, err = d.opts.StateCodec.Marshal(st); err != nil {
		return outcome{}, fmt.Errorf("saga: encode state of %s/%s: %w", d.name, inst.ID, err)
	}
	for _, c := range sc.sends {
		q, err := d.encode(c)
		if err != nil {
			return outcome{}, err
		}
		out.commands = append(out.commands, q)
	}
	out.stepped = sc.stepped
	out.status = Running
	switch {
	case sc.fail:
		out.status, out.reason = Compensating, sc.reason
		done := sc.Steps()
		for _, step := range slices.Backward(done) {
			c := d.steps[step](st)
			if c == nil {
				continue
			}
			q, err := d.encode(c)
			if err != nil {
				return outcome{}, fmt.Errorf("saga: compensation of step %s: %w", step, err)
			}
			q.compensation, q.step = true, step
			out.commands = append(out.commands, q)
		}
	case sc.complete:
		out.status = Completed
	default:
		out.schedule, out.cancel = sc.schedule, sc.cancel
	}
	return out, nil
}

func (d *Definition[S]) encode(cmd any) (queued, error) {
	if d.opts.Commands == nil {
		return queued{}, fmt.Errorf("%w: %s sends %T but Options.Commands is nil", ErrInvalidDefinition, d.name, cmd)
	}
	e, err := d.opts.Commands.Encode(cmd, eventstore.Metadata{})
	if err != nil {
		return queued{}, fmt.Errorf("saga: encode command %T: %w", cmd, err)
	}
	return queued{typ: e.Type, data: e.Data}, nil
}
