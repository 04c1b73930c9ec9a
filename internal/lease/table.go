package lease

import (
	"context"
	"sync"
)

// Table hands out exclusive ownership of names within one process. The
// zero value is ready to use; it is safe for concurrent use.
type Table struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the holder releases
}

// Acquire blocks until the caller holds name, or ctx ends (it then returns
// ctx's error and holds nothing).
func (t *Table) Acquire(ctx context.Context, name string) (*Lease, error) {
	for {
		t.mu.Lock()
		if t.held == nil {
			t.held = make(map[string]chan struct{})
		}
		free, taken := t.held[name]
		if !taken {
			free = make(chan struct{})
			t.held[name] = free
			t.mu.Unlock()
			return &Lease{t: t, name: name, free: free}, nil
		}
		t.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Held reports whether someone holds name now.
func (t *Table) Held(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, taken := t.held[name]
	return taken
}

// Lease is one holder's ownership of a name in a [Table].
type Lease struct {
	t    *Table
	name string
	free chan struct{}
	once sync.Once
}

// Name returns the name held.
func (l *Lease) Name() string { return l.name }

// Release gives the name up and wakes the standbys; calling it again does
// nothing.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.t.mu.Lock()
		defer l.t.mu.Unlock()
		delete(l.t.held, l.name)
		close(l.free)
	})
}
