package memory

import (
	"context"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
	"github.com/google/uuid"
)

// Append implements [eventstore.Store]. Inside a span, each event's
// metadata records the append's trace context (see docs/observability.md).
func (s *Store) Append(ctx context.Context, streamID string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if s.tel.Idle(ctx) {
		return s.appendEvents(ctx, streamID, expected, events)
	}
	ctx, op := s.tel.StartAppend(ctx, streamID, expected, len(events))
	res, err := s.appendEvents(ctx, streamID, expected, telemetry.Stamp(ctx, events))
	op.End(ctx, res, err)
	return res, err
}

func (s *Store) appendEvents(ctx context.Context, streamID string, expected eventstore.ExpectedVersion, events []eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.CheckExpected(streamID, expected); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.limits.CheckAppend(streamID, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	// IDs and the time are taken outside the lock; a single event's record
	// stays on the stack.
	var one [1]record
	recs := one[:]
	if len(events) > 1 {
		recs = make([]record, len(events))
	}
	now := s.now().UnixMicro() // microseconds, as PostgreSQL keeps them
	for i := range events {
		recs[i] = record{id: events[i].ID, typ: events[i].Type, recordedAt: now}
		if recs[i].id == uuid.Nil {
			recs[i].id = eventstore.NewEventID()
		}
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
		st = &stream{id: streamID}
		s.streams[streamID] = st
	}
	res := eventstore.AppendResult{Positions: make([]eventstore.Position, len(recs))}
	for i := range recs {
		r := &recs[i]
		r.stream = st
		r.version = current + uint64(i) + 1
		// The store keeps its own copies, so a caller reusing its
		// buffers cannot change history.
		r.data = s.arena.copyBytes(events[i].Data)
		r.md = s.arena.keepMetadata(events[i].Metadata)
		idx := s.log.push(*r)
		st.events = append(st.events, idx)
		s.ids.insert(r.id, idx)
		res.Positions[i] = position(idx)
	}
	res.Version = current + uint64(len(recs))
	if s.waiting.Load() {
		close(s.appended)
		s.appended = make(chan struct{})
		s.waiting.Store(false)
	}
	return res, nil
}

// idempotent decides an append some of whose event IDs are already stored.
// It returns done=false when none is. Callers hold s.mu.
func (s *Store) idempotent(streamID string, st *stream, expected eventstore.ExpectedVersion, recs []record) (eventstore.AppendResult, bool, error) {
	var current uint64
	if st != nil {
		current = uint64(len(st.events))
	}
	conflict := func(id uuid.UUID, reason string) (eventstore.AppendResult, bool, error) {
		return eventstore.AppendResult{}, true, &eventstore.ConflictError{
			Stream: streamID, Expected: expected, Actual: current, EventID: id, Reason: reason}
	}
	firstIdx, stored := s.ids.lookup(recs[0].id, &s.log)
	if !stored {
		for _, r := range recs[1:] {
			if idx, ok := s.ids.lookup(r.id, &s.log); ok {
				ref := s.log.at(idx)
				return conflict(r.id, fmt.Sprintf("already stored as version %d of stream %q", ref.version, ref.stream.id))
			}
		}
		return eventstore.AppendResult{}, false, nil
	}
	first := s.log.at(firstIdx)
	if first.stream != st {
		return conflict(recs[0].id, fmt.Sprintf("already stored as version %d of stream %q", first.version, first.stream.id))
	}
	// Where must the retried events start for the append to be a retry?
	start := first.version
	switch e := expected.(type) {
	case eventstore.NoStreamVersion:
		if start != 1 {
			return conflict(recs[0].id, fmt.Sprintf("stored as version %d, not right after the expected version", start))
		}
	case eventstore.ExactVersion:
		if start != uint64(e)+1 {
			return conflict(recs[0].id, fmt.Sprintf("stored as version %d, not right after the expected version", start))
		}
	}
	res := eventstore.AppendResult{Positions: make([]eventstore.Position, len(recs))}
	for i, r := range recs {
		v := start + uint64(i)
		if v > current {
			return conflict(recs[0].id, "the retry carries more events than were stored")
		}
		idx := st.events[v-1]
		if s.log.at(idx).id != r.id {
			return conflict(recs[0].id, fmt.Sprintf("version %d holds another event", v))
		}
		res.Positions[i] = position(idx)
	}
	res.Version = start + uint64(len(recs)) - 1
	return res, true, nil
}
