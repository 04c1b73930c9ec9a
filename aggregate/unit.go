package aggregate

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Appended describes one successful save: the events a command appended to
// one stream.
type Appended struct {
	Stream string
	// From and To are the versions of the first and the last event appended.
	From, To uint64
	// EventIDs and Positions hold each event's ID and global position, in
	// order.
	EventIDs  []uuid.UUID
	Positions []eventstore.Position
}

// Unit is one command's unit of work, carried by the context of its
// handler and read by every [Repository] used while handling it: the
// metadata to stamp on the events saved, the seed of deterministic event
// IDs, and what was saved. The command bus opens one unit per command
// ([WithUnit]); its middleware fills it in. Without a unit a repository
// stamps no metadata and lets the store choose event IDs.
//
// # Deterministic event IDs
//
// When Seed is set (the command's ID), the n-th event (from 0) a unit saves
// to a stream gets the ID UUIDv5(Seed, stream + "\x00" + n): the same command
// always produces the same IDs, so the store never stores its events twice.
// Loading a stream in such a unit checks whether those IDs are already
// there and, if so, fails with an [*AlreadyAppliedError] describing the
// original append; so does a save that the store refuses because the IDs are
// already stored further back.
//
// A Unit is safe for concurrent use; set Metadata and Seed before handing it
// to handlers.
type Unit struct {
	// Metadata is stamped on every event saved in the unit (the registry
	// sets its schema version).
	Metadata eventstore.Metadata
	// Seed, when not [uuid.Nil], makes event IDs deterministic.
	Seed uuid.UUID

	mu       sync.Mutex
	counts   map[string]int
	appended []Appended
	replayed bool
	hidden   []hiddenHistory
}

// hiddenHistory is a stream loaded from a snapshot in a seeded unit: the
// events up to the snapshot's version were not checked for the seed's IDs.
// read yields the stream from version from.
type hiddenHistory struct {
	stream   string
	snapshot uint64
	window   uint64
	read     func(ctx context.Context, from uint64) iter.Seq2[eventstore.RecordedEvent, error]
}

type unitKey struct{}

// WithUnit returns a context carrying s.
func WithUnit(ctx context.Context, s *Unit) context.Context {
	return context.WithValue(ctx, unitKey{}, s)
}

// UnitFrom returns the unit ctx carries, or nil.
func UnitFrom(ctx context.Context) *Unit {
	s, _ := ctx.Value(unitKey{}).(*Unit)
	return s
}

// EventID returns the deterministic ID of the n-th event (from 0) that a
// command with ID seed saves to stream.
func EventID(seed uuid.UUID, stream string, n int) uuid.UUID {
	return uuid.NewSHA1(seed, []byte(stream+"\x00"+strconv.Itoa(n)))
}

// Appended returns what was saved in the unit, in order (or, after
// [Unit.Replay], the original result).
func (s *Unit) Appended() []Appended {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.appended)
}

// Replayed reports whether [Unit.Replay] set the result.
func (s *Unit) Replayed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replayed
}

// Reset forgets what an attempt saved and loaded, keeping Metadata and Seed:
// the conflict retry middleware calls it before it runs a handler again, so
// the retry derives the same event IDs as the first attempt.
func (s *Unit) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
	s.appended, s.hidden, s.replayed = nil, nil, false
}

// Replay replaces the unit's result with an earlier run's: what the
// idempotency middleware reports for a command that was already applied.
func (s *Unit) Replay(original ...Appended) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appended = slices.Clone(original)
	s.replayed = true
}

// FindApplied looks for the seed's event IDs in the part of each stream that
// a snapshot hid when it was loaded in this unit (history that Load did not
// read). It is the slow path of idempotency, for a handler that failed or
// appended nothing: it reads, for each such stream, at most
// [Config.ReplayWindow] events before the snapshot (and the rest of the
// command's run after it).
func (s *Unit) FindApplied(ctx context.Context) (*AlreadyAppliedError, error) {
	s.mu.Lock()
	hidden := slices.Clone(s.hidden)
	seed := s.Seed
	s.mu.Unlock()
	if seed == uuid.Nil {
		return nil, nil
	}
	for _, h := range hidden {
		var m appliedMatcher
		m.start(seed, h.stream)
		from := uint64(1)
		if h.snapshot > h.window {
			from = h.snapshot - h.window + 1
		}
		for e, err := range h.read(ctx, from) {
			if err != nil {
				return nil, err
			}
			if m.see(e) || (!m.found() && e.Version > h.snapshot) {
				break
			}
		}
		if m.found() {
			return &AlreadyAppliedError{Seed: seed, Appended: m.result}, nil
		}
	}
	return nil, nil
}

// nextIDs returns the deterministic IDs of the next n events saved to stream,
// or nil when the unit has no seed.
func (s *Unit) nextIDs(stream string, n int) []uuid.UUID {
	if s == nil || s.Seed == uuid.Nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = make(map[string]int)
	}
	first := s.counts[stream]
	s.counts[stream] = first + n
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = EventID(s.Seed, stream, first+i)
	}
	return ids
}

// undoIDs gives back n IDs taken by nextIDs for a save that failed.
func (s *Unit) undoIDs(stream string, n int) {
	if s == nil || s.Seed == uuid.Nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[stream] -= n
}

func (s *Unit) record(a Appended) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appended = append(s.appended, a)
}

// savedTo reports whether the unit already saved events to stream.
func (s *Unit) savedTo(stream string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[stream] > 0
}

func (s *Unit) hide(h hiddenHistory) {
	if s == nil || s.Seed == uuid.Nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hidden = append(s.hidden, h)
}

// appliedMatcher finds, in a stream read forwards, the run of events whose
// IDs are a seed's deterministic IDs 0, 1, 2 … for that stream.
type appliedMatcher struct {
	seed   uuid.UUID
	stream string
	next   uuid.UUID
	result Appended
	done   bool
}

func (m *appliedMatcher) start(seed uuid.UUID, stream string) {
	*m = appliedMatcher{seed: seed, stream: stream, next: EventID(seed, stream, 0)}
	m.result.Stream = stream
}

// see looks at the next event and reports whether the run is complete.
func (m *appliedMatcher) see(e eventstore.RecordedEvent) bool {
	if m.done {
		return true
	}
	if e.ID != m.next {
		if len(m.result.EventIDs) > 0 {
			m.done = true
		}
		return m.done
	}
	if len(m.result.EventIDs) == 0 {
		m.result.From = e.Version
	}
	m.result.To = e.Version
	m.result.EventIDs = append(m.result.EventIDs, e.ID)
	m.result.Positions = append(m.result.Positions, e.Position)
	m.next = EventID(m.seed, m.stream, len(m.result.EventIDs))
	return false
}

func (m *appliedMatcher) found() bool { return len(m.result.EventIDs) > 0 }
