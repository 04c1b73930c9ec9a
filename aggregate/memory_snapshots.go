package aggregate

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemorySnapshots is an in-process [SnapshotStore], for the memory event
// store and tests. The zero value is ready to use; it is safe for concurrent
// use.
type MemorySnapshots struct {
	mu    sync.RWMutex
	snaps map[string]Snapshot
}

var _ SnapshotStore = (*MemorySnapshots)(nil)

// LoadSnapshot implements [SnapshotStore].
func (m *MemorySnapshots) LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.snaps[stream]
	if !ok {
		return Snapshot{}, false, nil
	}
	s.Data = slices.Clone(s.Data)
	return s, true, nil
}

// SaveSnapshot implements [SnapshotStore].
func (m *MemorySnapshots) SaveSnapshot(ctx context.Context, s Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.Stored(time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snaps == nil {
		m.snaps = make(map[string]Snapshot)
	}
	if old, ok := m.snaps[s.Stream]; ok && old.Version > s.Version {
		return nil
	}
	m.snaps[s.Stream] = s
	return nil
}
