package saga

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Scope is a handler's view of one saga instance while it handles an event
// or a deadline: its state, and what the handler decides. Decisions take
// effect only if the handler returns nil; they are then stored in one
// transaction with the new state. A Scope must not be kept after the
// handler returns.
type Scope[S any] struct {
	id    string
	now   time.Time
	state *S
	done  []string

	effects
	steps map[string]func(S) any
}

// effects are the decisions of one handler run.
type effects struct {
	sends    []any
	stepped  []string
	schedule []Deadline
	cancel   []string
	complete bool
	fail     bool
	reason   string
	errs     []error
}

// ID returns the instance ID.
func (s *Scope[S]) ID() string { return s.id }

// State returns the instance's state, to read and change.
func (s *Scope[S]) State() *S { return s.state }

// Now returns the engine clock's time.
func (s *Scope[S]) Now() time.Time { return s.now }

// Steps returns the steps done so far, oldest first.
func (s *Scope[S]) Steps() []string { return slices.Concat(s.done, s.stepped) }

// Send queues cmd, a value of a type registered in [Options.Commands], in
// the outbox. The dispatcher sends it after the commit, with an ID derived
// from the instance and the command's sequence number.
func (s *Scope[S]) Send(cmd any) {
	if cmd == nil {
		s.errs = append(s.errs, errors.New("saga: Send(nil)"))
		return
	}
	s.sends = append(s.sends, cmd)
}

// StepDone records that a declared step completed: if the saga fails later,
// the step's compensation is sent.
func (s *Scope[S]) StepDone(step string) {
	if s.steps[step] == nil {
		s.errs = append(s.errs, fmt.Errorf("saga: StepDone(%q): no such step declared", step))
		return
	}
	if !slices.Contains(s.Steps(), step) {
		s.stepped = append(s.stepped, step)
	}
}

// Schedule sets the deadline name to fire after d (by the engine's clock),
// replacing a pending deadline of that name.
func (s *Scope[S]) Schedule(name string, d time.Duration) { s.ScheduleAt(name, s.now.Add(d)) }

// ScheduleAt sets the deadline name to fire at t.
func (s *Scope[S]) ScheduleAt(name string, t time.Time) {
	if name == "" {
		s.errs = append(s.errs, errors.New("saga: Schedule with an empty deadline name"))
		return
	}
	s.cancel = slices.DeleteFunc(s.cancel, func(n string) bool { return n == name })
	s.schedule = slices.DeleteFunc(s.schedule, func(d Deadline) bool { return d.Name == name })
	s.schedule = append(s.schedule, Deadline{Name: name, DueAt: t.UTC().Truncate(time.Microsecond)})
}

// Cancel removes the pending deadline name, if any: the awaited event came
// first.
func (s *Scope[S]) Cancel(name string) {
	s.schedule = slices.DeleteFunc(s.schedule, func(d Deadline) bool { return d.Name == name })
	if !slices.Contains(s.cancel, name) {
		s.cancel = append(s.cancel, name)
	}
}

// Complete ends the saga successfully once the handler returns: commands
// queued by this handler are still sent, pending deadlines are cancelled,
// later events are recorded and ignored.
func (s *Scope[S]) Complete() { s.complete = true }

// Fail ends the saga as failed: the compensations of its done steps are
// queued, newest step first, after the commands this handler queued;
// deadlines are cancelled; the status goes to [Compensating] and, once the
// compensations are sent, [Compensated]. Fail wins over [Scope.Complete].
func (s *Scope[S]) Fail(reason string) {
	s.fail = true
	s.reason = reason
}
