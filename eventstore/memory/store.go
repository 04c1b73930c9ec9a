package memory

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Config configures a [Store]. The zero value works.
type Config struct {
	// Limits bounds appends; zero fields take the defaults.
	Limits eventstore.Limits
	// Now returns the time stamped on recorded events; time.Now by default.
	Now func() time.Time
	// TracerProvider and MeterProvider receive the store's spans and
	// metrics (see docs/observability.md); nil means the global providers,
	// which do nothing until the application installs an OpenTelemetry
	// SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Store is the in-process event store. It is safe for concurrent use.
type Store struct {
	limits eventstore.Limits
	now    func() time.Time
	tel    *telemetry.Store

	mu      sync.RWMutex
	log     eventLog // the global log; log.at(i) has position {i+1, i+1}
	arena   arena    // copies of payloads and metadata
	streams map[string]*stream
	ids     idIndex // event ID -> log index
	// appended is closed and replaced by an append when waiting is set: a
	// broadcast that wakes live subscribers without the writer ever
	// waiting for them. A subscriber sets waiting while it holds the read
	// lock, right after it takes appended, so the next writer (which
	// holds the write lock) sees it.
	appended chan struct{}
	waiting  atomic.Bool
	closed   bool
}

// stream holds the indexes into the global log of one stream's events, so
// stream[v-1] is the log index of version v.
type stream struct {
	id     string
	events []int
}

var _ eventstore.Store = (*Store)(nil)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Limits = c.Limits.WithDefaults()
	return c
}

// New returns an empty store.
func New(cfg Config) *Store {
	cfg = cfg.withDefaults()
	return &Store{
		limits:   cfg.Limits,
		now:      cfg.Now,
		tel:      telemetry.NewStore(cfg.TracerProvider, cfg.MeterProvider, "eventstore/memory", "chronicle.memory"),
		streams:  make(map[string]*stream),
		ids:      newIDIndex(),
		appended: make(chan struct{}),
	}
}

// Close ends every subscription with [eventstore.ErrClosed] and makes every
// later call fail with it. The events stay readable by no one: a closed
// memory store is gone.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.appended)
	}
	return nil
}

// Len returns the number of events in the global log.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.log.len()
}

// Streams returns the IDs of every stream with its current version, sorted by
// stream ID.
func (s *Store) Streams(ctx context.Context) ([]StreamInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	out := make([]StreamInfo, 0, len(s.streams))
	for id, st := range s.streams {
		out = append(out, StreamInfo{ID: id, Version: uint64(len(st.events))})
	}
	slices.SortFunc(out, func(a, b StreamInfo) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// StreamInfo is a stream's ID and current version.
type StreamInfo struct {
	ID      string
	Version uint64
}

func position(logIndex int) eventstore.Position {
	n := uint64(logIndex) + 1
	return eventstore.Position{Commit: n, Prepare: n}
}
