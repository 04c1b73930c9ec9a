package projection

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/lease"
)

// MemoryStore keeps checkpoints and in-memory read models ([Table]) in the
// process: the embedded default, for any event store. Handlers write through
// a [*MemoryTx]; a batch's table changes and its checkpoint become visible
// together, under one lock, or not at all.
//
// Ownership is per process: two runners sharing a MemoryStore take turns
// on each projection like PostgreSQL runners do across processes. Nothing
// survives a restart: after one, projections replay the log from the start,
// which for an in-memory read model is exactly right.
type MemoryStore struct {
	mu      sync.RWMutex // guards records and every table's committed rows
	records map[string]*Record
	owners  lease.Table
	now     func() time.Time
}

var _ CheckpointStore[*MemoryTx] = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: make(map[string]*Record), now: time.Now}
}

// Claim implements [CheckpointStore].
func (m *MemoryStore) Claim(ctx context.Context, name string, filter eventstore.Filter) (Claim[*MemoryTx], error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	held, err := m.owners.Acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.records[name]
	if r == nil {
		r = &Record{Name: name, State: Running}
		m.records[name] = r
	}
	if r.State == Stopped {
		r.State = Running
	}
	r.Filter = cloneFilter(filter)
	r.Owner = "this process"
	r.UpdatedAt = m.now()
	return &memoryClaim{m: m, name: name, lease: held}, nil
}

// Records implements [CheckpointStore].
func (m *MemoryStore) Records(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Record, 0, len(m.records))
	for name, r := range m.records {
		c := copyRecord(r)
		c.Owned = m.owners.Held(name)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Skip implements [CheckpointStore].
func (m *MemoryStore) Skip(ctx context.Context, name string) error {
	return m.resume(ctx, name, true)
}

// Retry implements [CheckpointStore].
func (m *MemoryStore) Retry(ctx context.Context, name string) error {
	return m.resume(ctx, name, false)
}

func (m *MemoryStore) resume(ctx context.Context, name string, skip bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.records[name]
	switch {
	case r == nil:
		return fmt.Errorf("%w: %q", ErrUnknownProjection, name)
	case r.State != Failed || r.Failure == nil:
		return fmt.Errorf("%w: %q is %s", ErrNotFailed, name, r.State)
	}
	if skip {
		r.Checkpoint, r.CheckpointAt = r.Failure.Position, r.Failure.RecordedAt
	}
	r.State, r.Failure, r.UpdatedAt = Running, nil, m.now()
	return nil
}

func copyRecord(r *Record) Record {
	c := *r
	c.Filter = cloneFilter(r.Filter)
	if r.Failure != nil {
		f := *r.Failure
		c.Failure = &f
	}
	return c
}

func cloneFilter(f eventstore.Filter) eventstore.Filter {
	return eventstore.Filter{EventTypes: slices.Clone(f.EventTypes), StreamPrefixes: slices.Clone(f.StreamPrefixes)}
}

var _ Claim[*MemoryTx] = (*memoryClaim)(nil)

type memoryClaim struct {
	m     *MemoryStore
	name  string
	lease *lease.Lease

	released bool
}

// fenced returns the record if its checkpoint is from; callers hold m.mu.
func (c *memoryClaim) fenced(from eventstore.Position) (*Record, error) {
	if c.released {
		return nil, ErrClaimLost
	}
	r := c.m.records[c.name]
	if r.Checkpoint != from {
		return nil, fmt.Errorf("%w: %q is at %v, not %v", ErrFenced, c.name, r.Checkpoint, from)
	}
	return r, nil
}

func (c *memoryClaim) Record(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	c.m.mu.RLock()
	defer c.m.mu.RUnlock()
	r := copyRecord(c.m.records[c.name])
	r.Owned = true
	return r, nil
}

func (c *memoryClaim) Commit(ctx context.Context, from eventstore.Position, adv Advance, apply func(context.Context, *MemoryTx) error) error {
	tx := &MemoryTx{store: c.m}
	if err := apply(ctx, tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	r, err := c.fenced(from)
	if err != nil {
		return err
	}
	if r.State != Running && r.State != Rebuilding {
		return fmt.Errorf("%w: %q is %s", ErrFenced, c.name, r.State)
	}
	tx.commit()
	r.Checkpoint, r.CheckpointAt = adv.To, adv.At
	r.Handled += uint64(adv.Events)
	r.UpdatedAt = c.m.now()
	return nil
}

func (c *memoryClaim) Fail(ctx context.Context, from eventstore.Position, f Failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	r, err := c.fenced(from)
	if err != nil {
		return err
	}
	r.State, r.Failure, r.LastError, r.UpdatedAt = Failed, &f, f.Error, c.m.now()
	return nil
}

func (c *memoryClaim) Reset(ctx context.Context, from eventstore.Position, reset func(context.Context, *MemoryTx) error) error {
	tx := &MemoryTx{store: c.m}
	if err := reset(ctx, tx); err != nil {
		return err
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	r, err := c.fenced(from)
	if err != nil {
		return err
	}
	tx.commit()
	r.Checkpoint, r.CheckpointAt, r.Handled = eventstore.Position{}, time.Time{}, 0
	r.State, r.Failure, r.LastError, r.UpdatedAt = Rebuilding, nil, "", c.m.now()
	return nil
}

func (c *memoryClaim) SetState(ctx context.Context, from eventstore.Position, s State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	r, err := c.fenced(from)
	if err != nil {
		return err
	}
	r.State, r.UpdatedAt = s, c.m.now()
	return nil
}

func (c *memoryClaim) Lost() <-chan struct{} { return nil }

func (c *memoryClaim) Release(context.Context) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.released {
		return nil
	}
	c.released = true
	if r := c.m.records[c.name]; r.State == Running {
		r.State, r.UpdatedAt = Stopped, c.m.now()
	}
	c.lease.Release()
	return nil
}
