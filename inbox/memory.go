package inbox

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/broker"
)

// MemoryTx is the unit of work of a [MemoryStore]. It is not a
// transaction: what a handler does through other stores is not rolled
// back when a batch fails, so handlers on a MemoryStore must be
// idempotent (append events with IDs derived from the message ID, for
// example).
type MemoryTx struct{}

// MemoryStore keeps processed records and parked messages in the process:
// the embedded mode's store. Commits of one consumer are serialised, so a
// message is applied by one of two racing deliveries.
type MemoryStore struct {
	mu        sync.Mutex
	consumers map[string]*memConsumer
	now       func() time.Time
}

type memConsumer struct {
	commit    sync.Mutex // serialises Commit
	processed map[string]time.Time
	failures  map[string]int
	parked    []Parked
}

var _ Store[MemoryTx] = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{consumers: map[string]*memConsumer{}, now: time.Now}
}

func (s *MemoryStore) consumer(name string) *memConsumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.consumers[name]
	if c == nil {
		c = &memConsumer{processed: map[string]time.Time{}, failures: map[string]int{}}
		s.consumers[name] = c
	}
	return c
}

// Commit implements [Store].
func (s *MemoryStore) Commit(ctx context.Context, consumer string, ids []string, apply func(context.Context, MemoryTx, func(int) bool) error) error {
	c := s.consumer(consumer)
	c.commit.Lock()
	defer c.commit.Unlock()
	s.mu.Lock()
	fresh := make([]bool, len(ids))
	seen := map[string]bool{}
	for i, id := range ids {
		_, done := c.processed[id]
		fresh[i] = !done && !seen[id]
		seen[id] = true
	}
	s.mu.Unlock()
	if err := apply(ctx, MemoryTx{}, func(i int) bool { return fresh[i] }); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, id := range ids {
		if _, done := c.processed[id]; !done {
			c.processed[id] = now
		}
	}
	return nil
}

// Fail implements [Store].
func (s *MemoryStore) Fail(ctx context.Context, consumer string, m broker.Message, cause error) (int, error) {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	c.failures[m.ID]++
	return c.failures[m.ID], nil
}

// Park implements [Store].
func (s *MemoryStore) Park(ctx context.Context, consumer string, m broker.Message, cause error, attempts int) error {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(c.failures, m.ID)
	c.parked = slices.DeleteFunc(c.parked, func(p Parked) bool { return p.Message.ID == m.ID })
	c.parked = append(c.parked, Parked{Consumer: consumer, Message: m, Error: cause.Error(), Attempts: attempts, ParkedAt: s.now()})
	return nil
}

// Resolve implements [Store].
func (s *MemoryStore) Resolve(ctx context.Context, consumer string, ids []string) error {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(c.failures, id)
	}
	return nil
}

// Parked implements [Store].
func (s *MemoryStore) Parked(ctx context.Context, consumer string) ([]Parked, error) {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(c.parked), nil
}

// Prune implements [Store].
func (s *MemoryStore) Prune(ctx context.Context, consumer string, before time.Time) (int, error) {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, at := range c.processed {
		if at.Before(before) {
			delete(c.processed, id)
			n++
		}
	}
	return n, nil
}

// Processed reports how many records consumer keeps.
func (s *MemoryStore) Processed(consumer string) int {
	c := s.consumer(consumer)
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(c.processed)
}
