package relay

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/lease"
)

// MemoryStore keeps relays' state in the process: the embedded mode's
// store. Ownership is per process, through the same in-process lease table
// as the projection runner's memory store. Nothing survives a restart:
// after one, a relay publishes the log again from the start (a broker
// that de-duplicates, and every inbox, recognise the repeats).
type MemoryStore struct {
	owners lease.Table

	mu      sync.Mutex
	records map[string]*Record
	parked  map[string]map[string]*Parked // relay → message ID
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]*Record{}, parked: map[string]map[string]*Parked{}}
}

// Claim implements [Store].
func (s *MemoryStore) Claim(ctx context.Context, name string, filter eventstore.Filter) (Claim, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	l, err := s.owners.Acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[name]
	if rec == nil {
		rec = &Record{Name: name}
		s.records[name] = rec
		s.parked[name] = map[string]*Parked{}
	}
	rec.Filter = eventstore.Filter{EventTypes: slices.Clone(filter.EventTypes), StreamPrefixes: slices.Clone(filter.StreamPrefixes)}
	rec.Owner = "this process"
	rec.UpdatedAt = time.Now()
	return &memoryClaim{s: s, name: name, l: l}, nil
}

func (s *MemoryStore) record(name string) Record {
	r := *s.records[name]
	r.Owned = s.owners.Held(name)
	r.Parked = 0
	for _, p := range s.parked[name] {
		if p.State == StateParked || p.State == StateRetry {
			r.Parked++
		}
	}
	return r
}

// Records implements [Store].
func (s *MemoryStore) Records(ctx context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.records))
	for _, name := range slices.Sorted(maps.Keys(s.records)) {
		out = append(out, s.record(name))
	}
	return out, nil
}

// Parked implements [Store].
func (s *MemoryStore) Parked(ctx context.Context, name string) ([]Parked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[name] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRelay, name)
	}
	return sortedParked(s.parked[name]), nil
}

func sortedParked(m map[string]*Parked) []Parked {
	out := make([]Parked, 0, len(m))
	for _, p := range m {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Parked) int { return a.Position.Compare(b.Position) })
	return out
}

// Retry implements [Store].
func (s *MemoryStore) Retry(ctx context.Context, name, id string) (int, error) {
	return s.change(name, id, func(m map[string]*Parked, p *Parked) { p.State = StateRetry })
}

// Skip implements [Store].
func (s *MemoryStore) Skip(ctx context.Context, name, id string) (int, error) {
	return s.change(name, id, func(m map[string]*Parked, p *Parked) { delete(m, p.Message.ID) })
}

func (s *MemoryStore) change(name, id string, fn func(map[string]*Parked, *Parked)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[name] == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownRelay, name)
	}
	n := 0
	for pid, p := range s.parked[name] {
		if id == "" || pid == id {
			fn(s.parked[name], p)
			n++
		}
	}
	return n, nil
}

type memoryClaim struct {
	s    *MemoryStore
	name string
	l    *lease.Lease
}

func (c *memoryClaim) Record(ctx context.Context) (Record, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.record(c.name), nil
}

func (c *memoryClaim) Advance(ctx context.Context, from, to eventstore.Position, at time.Time, published int, parked []Parked) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	rec := c.s.records[c.name]
	if rec.Checkpoint != from {
		return fmt.Errorf("%w: %q at %v, not %v", ErrFenced, c.name, rec.Checkpoint, from)
	}
	rec.Checkpoint, rec.CheckpointAt, rec.UpdatedAt = to, at, time.Now()
	rec.Published += uint64(published)
	if published > 0 {
		rec.LastError = ""
	}
	for _, p := range parked {
		p.Relay = c.name
		p.Kind = cmp.Or(p.Kind, KindMessage)
		c.s.parked[c.name][p.Message.ID] = &p
	}
	return nil
}

func (c *memoryClaim) Failed(ctx context.Context, msg string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.records[c.name].LastError = msg
	return nil
}

func (c *memoryClaim) Retries(ctx context.Context) ([]Parked, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var out []Parked
	for _, p := range sortedParked(c.s.parked[c.name]) {
		if p.State == StateRetry {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *memoryClaim) Resolve(ctx context.Context, id string, err error) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	p := c.s.parked[c.name][id]
	if p == nil {
		return nil
	}
	if err == nil {
		delete(c.s.parked[c.name], id)
		c.s.records[c.name].Published++
		return nil
	}
	p.State, p.Error = StateParked, err.Error()
	p.Attempts++
	return nil
}

func (c *memoryClaim) Lost() <-chan struct{} { return nil }

func (c *memoryClaim) Release(ctx context.Context) error {
	c.l.Release()
	return nil
}
