package memory

import (
	"context"
	"iter"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// chunk is how many events a read copies under one hold of the lock: large
// enough to make locking cheap, small enough that writers never wait long.
const chunk = 512

// ReadStream implements [eventstore.Store].
func (s *Store) ReadStream(ctx context.Context, streamID string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		ctx, rd := s.tel.StartRead(ctx, telemetry.OpReadStream, streamID)
		n := 0
		defer func() { rd.End(ctx, n, nil) }()
		if err := s.limits.CheckStreamID(streamID); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		if err := eventstore.CheckLimit("read stream", streamID, opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		backwards := opts.Direction == eventstore.Backwards
		next := opts.From // the next version to read
		if !backwards && next == 0 {
			next = 1
		}
		remaining := opts.Limit
		buf := make([]eventstore.RecordedEvent, 0, chunkFor(opts.Limit))
		first := true
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			buf = buf[:0]
			s.mu.RLock()
			if s.closed {
				s.mu.RUnlock()
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			st := s.streams[streamID]
			if st == nil {
				s.mu.RUnlock()
				if first {
					yield(eventstore.RecordedEvent{}, &eventstore.StreamNotFoundError{Stream: streamID})
				}
				return
			}
			current := uint64(len(st.events))
			if first && backwards && (next == 0 || next > current) {
				next = current
			}
			first = false
			for len(buf) < cap(buf) && next >= 1 && next <= current && (opts.Limit == 0 || remaining > 0) {
				idx := st.events[next-1]
				buf = append(buf, s.log.at(idx).event(idx))
				remaining--
				if backwards {
					next--
				} else {
					next++
				}
			}
			s.mu.RUnlock()
			n += len(buf)
			for _, e := range buf {
				if !yield(e, nil) {
					return
				}
			}
			if len(buf) < cap(buf) || (opts.Limit != 0 && remaining <= 0) {
				return
			}
		}
	}
}

// ReadAll implements [eventstore.Store].
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		ctx, rd := s.tel.StartRead(ctx, telemetry.OpReadAll, "")
		n := 0
		defer func() { rd.End(ctx, n, nil) }()
		if err := eventstore.CheckLimit("read all", "", opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		backwards := opts.Direction == eventstore.Backwards
		remaining := opts.Limit
		buf := make([]eventstore.RecordedEvent, 0, chunkFor(opts.Limit))
		// next is the log index to read next; -1 is past the start.
		next := -2
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			buf = buf[:0]
			s.mu.RLock()
			if s.closed {
				s.mu.RUnlock()
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			head := s.log.len()
			if next == -2 {
				next = startIndex(opts.From, backwards, head)
			}
			for len(buf) < cap(buf) && next >= 0 && next < head && (opts.Limit == 0 || remaining > 0) {
				buf = append(buf, s.log.at(next).event(next))
				remaining--
				if backwards {
					next--
				} else {
					next++
				}
			}
			s.mu.RUnlock()
			n += len(buf)
			for _, e := range buf {
				if !yield(e, nil) {
					return
				}
			}
			if len(buf) < cap(buf) || (opts.Limit != 0 && remaining <= 0) {
				return
			}
		}
	}
}

// chunkFor returns the size of the buffer a read with limit needs.
func chunkFor(limit int) int {
	if limit > 0 {
		return min(chunk, limit)
	}
	return chunk
}

// startIndex returns the log index of the first event after from (forwards)
// or before it (backwards, where the zero position means from the head). It
// may be past the head forwards, and -1 backwards when nothing is before
// from. The event at log index i has position {i+1, i+1}.
func startIndex(from eventstore.Position, backwards bool, head int) int {
	// The largest index worth returning: past every index a log can reach.
	const far = uint64(1) << 62
	if backwards {
		if from.IsZero() {
			return head - 1
		}
		// The last i with {i+1, i+1} < from: i+1 < Commit, or i+1 ==
		// Commit and Commit < Prepare.
		last := min(from.Commit, far)
		if from.Prepare <= from.Commit {
			last-- // {Commit, Commit} is not before from
		}
		return min(int(last)-1, head-1)
	}
	// The first i with {i+1, i+1} > from: i+1 > Commit, or i+1 == Commit
	// and Commit > Prepare.
	first := min(from.Commit, far)
	if from.Prepare < from.Commit {
		return int(first) - 1 // {Commit, Commit} is after from
	}
	return int(first)
}
