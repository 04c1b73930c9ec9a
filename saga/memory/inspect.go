package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/chronicle-go/chronicle/saga"
)

// Instances implements [saga.Inspector].
func (s *Store) Instances(ctx context.Context, name string, q saga.Query) ([]saga.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []saga.Instance
	for k, i := range s.instances {
		if k.saga == name && (q.Status == "" || i.Status == q.Status) && (q.After == "" || i.ID > q.After) {
			out = append(out, clone(i))
		}
	}
	slices.SortFunc(out, func(a, b saga.Instance) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(limit, len(out))], nil
}

// Count implements [saga.Inspector].
func (s *Store) Count(ctx context.Context, name string) (map[saga.Status]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[saga.Status]int{}
	for k, i := range s.instances {
		if k.saga == name {
			out[i.Status]++
		}
	}
	return out, nil
}

// History implements [saga.Inspector].
func (s *Store) History(ctx context.Context, name, id string) (saga.History, error) {
	if err := ctx.Err(); err != nil {
		return saga.History{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[key{name, id}]
	if !ok {
		return saga.History{}, fmt.Errorf("%w: %s/%s", saga.ErrNotFound, name, id)
	}
	h := saga.History{Instance: clone(inst), Entries: slices.Clone(s.history[key{name, id}])}
	for _, r := range s.commands {
		if r.Saga == name && r.Instance == id {
			h.Commands = append(h.Commands, r.Command)
		}
	}
	slices.SortFunc(h.Commands, func(a, b saga.Command) int { return cmp.Compare(a.Seq, b.Seq) })
	for k, d := range s.deadlines {
		if k.saga == name && k.instance == id {
			h.Deadlines = append(h.Deadlines, d.Deadline)
		}
	}
	slices.SortFunc(h.Deadlines, func(a, b saga.Deadline) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Name, b.Name)) })
	for _, p := range s.parked {
		if p.Saga == name && p.Instance == id {
			h.Parked = append(h.Parked, p)
		}
	}
	return h, nil
}

// ParkedEvents implements [saga.Inspector].
func (s *Store) ParkedEvents(ctx context.Context, name string) ([]saga.Parked, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []saga.Parked
	for _, p := range s.parked {
		if p.Saga == name {
			out = append(out, p)
		}
	}
	return out, nil
}

// FailingCommands implements [saga.Inspector].
func (s *Store) FailingCommands(ctx context.Context, name string) ([]saga.Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []saga.Command
	for _, r := range s.commands {
		if r.Saga == name && !r.Sent() && r.LastError != "" {
			out = append(out, r.Command)
		}
	}
	return out, nil
}
