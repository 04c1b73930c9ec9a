package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/lease"
	"github.com/chronicle-go/chronicle/saga"
)

// Store is an in-memory [saga.Store]. The zero value is not usable; call
// [New].
type Store struct {
	mu          sync.Mutex
	instances   map[key]saga.Instance
	commands    []*row // in insertion order
	byID        map[uuid.UUID]*row
	pending     map[key][]*row // unsent rows per instance, by seq
	order       int64          // insertion counter, for a stable reservation order
	deadlines   map[dkey]*deadline
	history     map[key][]saga.HistoryEntry
	parked      []saga.Parked
	checkpoints map[string]*checkpoint
	leases      lease.Table // one subscription holder per saga
}

type key struct{ saga, id string }

type dkey struct{ saga, instance, name string }

type row struct {
	saga.Command
	reservedUntil time.Time
	order         int64
}

type deadline struct {
	saga.Deadline
	reservedUntil time.Time
}

type checkpoint struct {
	pos   eventstore.Position
	token int64
}

var _ saga.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		instances:   make(map[key]saga.Instance),
		byID:        make(map[uuid.UUID]*row),
		pending:     make(map[key][]*row),
		deadlines:   make(map[dkey]*deadline),
		history:     make(map[key][]saga.HistoryEntry),
		checkpoints: make(map[string]*checkpoint),
	}
}

func clone(i saga.Instance) saga.Instance {
	i.State = slices.Clone(i.State)
	i.Steps = slices.Clone(i.Steps)
	return i
}

// Load implements [saga.StateStore].
func (s *Store) Load(ctx context.Context, name string, ids []string) (map[string]saga.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]saga.Instance, len(ids))
	for _, id := range ids {
		if i, ok := s.instances[key{name, id}]; ok {
			out[id] = clone(i)
		}
	}
	return out, nil
}

// Commit implements [saga.StateStore]: it checks everything first, then writes,
// so a refused commit changes nothing.
func (s *Store) Commit(ctx context.Context, c saga.Commit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range c.Instances {
		cur, ok := s.instances[key{c.Saga, w.Instance.ID}]
		if (w.Expected == 0 && ok) || (w.Expected != 0 && (!ok || cur.Version != w.Expected)) {
			return &saga.ConflictError{Saga: c.Saga, Instance: w.Instance.ID, Expected: w.Expected, Reason: "version moved"}
		}
	}
	for _, d := range c.Fired {
		cur := s.deadlines[dkey{c.Saga, d.Instance, d.Name}]
		if cur == nil || !cur.DueAt.Equal(d.DueAt) {
			return &saga.ConflictError{Saga: c.Saga, Instance: d.Instance, Reason: "deadline " + d.Name + " is no longer pending"}
		}
	}
	for _, cmd := range c.Commands {
		if s.byID[cmd.ID] != nil {
			return &saga.ConflictError{Saga: c.Saga, Instance: cmd.Instance, Reason: fmt.Sprintf("command %s already queued", cmd.ID)}
		}
	}
	for _, r := range c.Refused {
		if row := s.byID[r.ID]; row == nil || row.Saga != c.Saga || row.Sent() {
			return &saga.ConflictError{Saga: c.Saga, Reason: fmt.Sprintf("command %s is no longer pending", r.ID)}
		}
	}
	for _, id := range c.Unparked {
		if !slices.ContainsFunc(s.parked, func(p saga.Parked) bool { return p.Saga == c.Saga && p.EventID == id }) {
			return &saga.ConflictError{Saga: c.Saga, Reason: fmt.Sprintf("event %s is no longer parked", id)}
		}
	}
	var cp *checkpoint
	if c.Checkpoint != nil {
		cp = s.checkpoints[c.Saga]
		if cp == nil || cp.token != c.Checkpoint.Token {
			return fmt.Errorf("%w: %s: token %d", saga.ErrLeaseLost, c.Saga, c.Checkpoint.Token)
		}
	}
	// Everything checks out: write.
	for _, w := range c.Instances {
		i := clone(w.Instance)
		i.Saga, i.Version = c.Saga, w.Expected+1
		s.instances[key{c.Saga, i.ID}] = i
	}
	for _, d := range c.Fired {
		delete(s.deadlines, dkey{c.Saga, d.Instance, d.Name})
	}
	for _, d := range c.Cancel {
		if d.Name != "" {
			delete(s.deadlines, dkey{c.Saga, d.Instance, d.Name})
			continue
		}
		for k := range s.deadlines {
			if k.saga == c.Saga && k.instance == d.Instance {
				delete(s.deadlines, k)
			}
		}
	}
	for _, d := range c.Schedule {
		d.Saga = c.Saga
		s.deadlines[dkey{c.Saga, d.Instance, d.Name}] = &deadline{Deadline: d}
	}
	for _, cmd := range c.Commands {
		s.order++
		r := &row{Command: cmd, order: s.order}
		r.Saga, r.Data = c.Saga, slices.Clone(cmd.Data)
		s.commands = append(s.commands, r)
		s.byID[cmd.ID] = r
		k := key{c.Saga, cmd.Instance}
		s.pending[k] = append(s.pending[k], r)
		slices.SortFunc(s.pending[k], func(a, b *row) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	for _, r := range c.Refused {
		done := s.byID[r.ID]
		done.SentAt, done.Refused, done.LastError, done.reservedUntil = r.At, true, r.Error, time.Time{}
		k := key{c.Saga, done.Instance}
		s.pending[k] = slices.DeleteFunc(s.pending[k], func(p *row) bool { return p == done })
		if len(s.pending[k]) == 0 {
			delete(s.pending, k)
		}
	}
	for _, h := range c.History {
		h.Saga = c.Saga
		k := key{c.Saga, h.Instance}
		s.history[k] = append(s.history[k], h)
	}
	if len(c.Unparked) > 0 {
		s.parked = slices.DeleteFunc(s.parked, func(p saga.Parked) bool { return p.Saga == c.Saga && slices.Contains(c.Unparked, p.EventID) })
	}
	for _, p := range c.Parked {
		p.Saga = c.Saga
		s.parked = append(s.parked, p)
	}
	if cp != nil {
		cp.pos = c.Checkpoint.Position
	}
	return nil
}

// Checkpoint implements [saga.StateStore].
func (s *Store) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.Position{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cp := s.checkpoints[name]; cp != nil {
		return cp.pos, nil
	}
	return eventstore.Start, nil
}

// Acquire implements [saga.StateStore]: one holder per saga in this process
// (internal/lease), whose token fences every earlier holder's checkpoint.
func (s *Store) Acquire(ctx context.Context, name string) (saga.Lease, error) {
	held, err := s.leases.Acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := s.checkpoints[name]
	if cp == nil {
		cp = &checkpoint{}
		s.checkpoints[name] = cp
	}
	cp.token++
	return &subscription{held: held, token: cp.token, lost: make(chan struct{})}, nil
}

// subscription is the saga's view of a lease: who holds it, and the token
// its checkpoint writes are fenced with. In one process nothing can take it
// away, so Lost never fires.
type subscription struct {
	held  *lease.Lease
	token int64
	lost  chan struct{}
}

func (l *subscription) Token() int64          { return l.token }
func (l *subscription) Lost() <-chan struct{} { return l.lost }

func (l *subscription) Release(context.Context) error {
	l.held.Release()
	return nil
}

// ReserveCommands implements [saga.Outbox].
func (s *Store) ReserveCommands(ctx context.Context, name string, now time.Time, reserveFor time.Duration, limit int) ([]saga.Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var heads []*row // the oldest unsent command of each instance, if due and free
	for k, rows := range s.pending {
		if k.saga != name || len(rows) == 0 {
			continue
		}
		if r := rows[0]; !r.NextAttempt.After(now) && !r.reservedUntil.After(now) {
			heads = append(heads, r)
		}
	}
	slices.SortFunc(heads, func(a, b *row) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), cmp.Compare(a.order, b.order))
	})
	var out []saga.Command
	for _, r := range heads[:min(limit, len(heads))] {
		r.reservedUntil = now.Add(reserveFor)
		r.Attempts++
		c := r.Command
		c.Data = slices.Clone(c.Data)
		out = append(out, c)
	}
	return out, nil
}

// MarkSent implements [saga.Outbox].
func (s *Store) MarkSent(ctx context.Context, name string, ids []uuid.UUID, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := map[string]bool{}
	for _, id := range ids {
		if r := s.byID[id]; r != nil && r.Saga == name && !r.Sent() {
			r.SentAt, r.reservedUntil = now, time.Time{}
			touched[r.Instance] = true
			k := key{name, r.Instance}
			s.pending[k] = slices.DeleteFunc(s.pending[k], func(p *row) bool { return p == r })
			if len(s.pending[k]) == 0 {
				delete(s.pending, k)
			}
		}
	}
	for id := range touched {
		k := key{name, id}
		inst, ok := s.instances[k]
		if !ok || inst.Status != saga.Compensating || len(s.pending[k]) > 0 {
			continue
		}
		inst.Status, inst.Version, inst.UpdatedAt = saga.Compensated, inst.Version+1, now
		s.instances[k] = inst
		s.history[k] = append(s.history[k], saga.HistoryEntry{Saga: name, Instance: id, At: now,
			Kind: saga.StatusChanged, Detail: string(saga.Compensated)})
	}
	return nil
}

// MarkFailed implements [saga.Outbox].
func (s *Store) MarkFailed(ctx context.Context, name string, id uuid.UUID, sendErr string, retryAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byID[id]; r != nil && r.Saga == name && !r.Sent() {
		r.LastError, r.NextAttempt, r.reservedUntil = sendErr, retryAt, time.Time{}
	}
	return nil
}

// ReserveDeadlines implements [saga.Outbox].
func (s *Store) ReserveDeadlines(ctx context.Context, name string, now time.Time, reserveFor time.Duration, limit int) ([]saga.Deadline, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*deadline
	for k, d := range s.deadlines {
		if k.saga == name && !d.DueAt.After(now) && !d.reservedUntil.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *deadline) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Name, b.Name))
	})
	var out []saga.Deadline
	for _, d := range due[:min(limit, len(due))] {
		d.reservedUntil = now.Add(reserveFor)
		out = append(out, d.Deadline)
	}
	return out, nil
}
