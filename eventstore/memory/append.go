package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

// Append implements [eventstore.Store].
func (s *Store) Append(ctx context.Context, streamID string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if expected == nil {
		return eventstore.AppendResult{}, fmt.Errorf("memory: append to %q: nil expected version", streamID)
	}
	if err := s.limits.CheckAppend(streamID, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Copy outside the lock: the store keeps its own bytes, so a caller
	// reusing its buffers cannot change history.
	now := s.now().UTC().Truncate(1000) // microseconds, as PostgreSQL keeps them
	recs := make([]eventstore.RecordedEvent, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			e.ID = eventstore.NewEventID()
		}
		e.Data = slices.Clip(slices.Clone(e.Data))
		e.Metadata = e.Metadata.Clone()
		recs[i] = eventstore.RecordedEvent{Event: e, StreamID: streamID, RecordedAt: now}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	st := s.streams[streamID]
	var current uint64
	if st != nil {
		current = uint64(len(st.events))
	}
	if res, done, err := s.idempotent(streamID, st, expected, recs); done {
		return res, err
	}
	if !expected.Satisfied(current) {
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: streamID, Expected: expected, Actual: current}
	}
	if st == nil {
		st = &stream{}
		s.streams[streamID] = st
	}
	res := eventstore.AppendResult{Positions: make([]eventstore.Position, len(recs))}
	for i := range recs {
		idx := len(s.log)
		r := &recs[i]
		r.Version = current + uint64(i) + 1
		r.Position = position(idx)
		s.log = append(s.log, *r)
		st.events = append(st.events, idx)
		s.ids[r.ID] = eventRef{stream: streamID, version: r.Version}
		res.Positions[i] = r.Position
	}
	res.Version = current + uint64(len(recs))
	close(s.appended)
	s.appended = make(chan struct{})
	return res, nil
}

// idempotent decides an append whose first event ID is already stored. It
// returns done=false when no event ID of the append is stored. Callers hold
// s.mu.
func (s *Store) idempotent(streamID string, st *stream, expected eventstore.ExpectedVersion, recs []eventstore.RecordedEvent) (eventstore.AppendResult, bool, error) {
	var current uint64
	if st != nil {
		current = uint64(len(st.events))
	}
	conflict := func(id uuid.UUID, reason string) (eventstore.AppendResult, bool, error) {
		return eventstore.AppendResult{}, true, &eventstore.ConflictError{
			Stream: streamID, Expected: expected, Actual: current, EventID: id, Reason: reason}
	}
	first, stored := s.ids[recs[0].ID]
	if !stored {
		for _, r := range recs[1:] {
			if ref, ok := s.ids[r.ID]; ok {
				return conflict(r.ID, fmt.Sprintf("already stored as version %d of stream %q", ref.version, ref.stream))
			}
		}
		return eventstore.AppendResult{}, false, nil
	}
	if first.stream != streamID {
		return conflict(recs[0].ID, fmt.Sprintf("already stored as version %d of stream %q", first.version, first.stream))
	}
	// Where must the retried events start for the append to be a retry?
	start := first.version
	switch e := expected.(type) {
	case eventstore.NoStreamVersion:
		if start != 1 {
			return conflict(recs[0].ID, fmt.Sprintf("stored as version %d, not right after the expected version", start))
		}
	case eventstore.ExactVersion:
		if start != uint64(e)+1 {
			return conflict(recs[0].ID, fmt.Sprintf("stored as version %d, not right after the expected version", start))
		}
	}
	res := eventstore.AppendResult{Positions: make([]eventstore.Position, len(recs))}
	for i, r := range recs {
		v := start + uint64(i)
		if v > current {
			return conflict(recs[0].ID, "the retry carries more events than were stored")
		}
		stored := &s.log[st.events[v-1]]
		if stored.ID != r.ID {
			return conflict(recs[0].ID, fmt.Sprintf("version %d holds another event", v))
		}
		res.Positions[i] = stored.Position
	}
	res.Version = start + uint64(len(recs)) - 1
	return res, true, nil
}
