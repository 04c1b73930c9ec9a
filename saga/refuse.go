package saga

import (
	"context"
	"errors"
	"time"
)

// refuse settles a command its receiver refused for good
// ([command.IsRefused]). In one commit the command is recorded as refused
// (it is never sent again) and its instance, if running or completed,
// fails with the reason "<command type> refused: <error>": the
// compensations of its done steps are queued, newest first, its deadlines
// cancelled. An instance that already failed only records the refusal.
//
// A refused compensation never comes here: compensations undo what was
// done and must be accepted, so a refused one is retried like a transient
// failure and listed by [Engine.FailingCommands] until an operator sees to
// it.
func (e *Engine) refuse(ctx context.Context, c Command, cause error) error {
	name := e.Name()
	reason := c.Type + " refused: " + cause.Error()
	e.log.Info("saga: command refused", "instance", c.Instance, "command", c.Type, "id", c.ID, "error", cause)
	for attempt := 1; ; attempt++ {
		now := e.now()
		loaded, err := e.store.Load(ctx, name, []string{c.Instance})
		if err != nil {
			return err
		}
		cm := Commit{Saga: name, Refused: []RefusedCommand{{ID: c.ID, Error: cause.Error(), At: now}}}
		inst, ok := loaded[c.Instance]
		w := &working{inst: inst, expected: inst.Version, live: ok, deadlines: map[string]*time.Time{}}
		switch {
		case !ok:
		case inst.Status == Compensating || inst.Status == Compensated:
			cm.History = append(cm.History, note(w, now, CommandRefused, reason+" (the saga is already "+string(inst.Status)+")"))
		default:
			out, err := e.def.runRefused(ctx, inst, reason, now)
			if err != nil {
				return &HandlerError{Saga: name, Instance: c.Instance, What: "refusal of " + c.Type, Err: err}
			}
			cm.History = append(cm.History, note(w, now, CommandRefused, reason))
			if summary := e.apply(&cm, w, out, "command:"+c.ID.String(), now); summary != "" {
				cm.History[0].Detail += ": " + summary
			}
			e.flush(&cm, w)
		}
		err = e.store.Commit(ctx, cm)
		switch {
		case err == nil:
			if len(cm.Commands) > 0 {
				e.poke()
			}
			return nil
		case errors.Is(err, ErrConflict) && attempt < maxConflictRetries && ctx.Err() == nil:
			continue // the instance moved on (an event, a deadline): look again
		}
		return err
	}
}
