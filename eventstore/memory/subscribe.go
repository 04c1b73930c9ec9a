package memory

import (
	"context"
	"iter"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Subscribe implements [eventstore.Store].
//
// # Slow subscribers
//
// A subscription keeps no queue of its own: it reads the store's log
// directly, a chunk at a time, and waits for the next append once it has
// read everything. Writers therefore never wait for subscribers and never
// drop events for them, however slow they are; a subscription's memory is
// bounded by one chunk.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		if err := s.limits.CheckFilter("subscribe", opts.Filter); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		filter := opts.Filter
		all := filter.IsZero()
		buf := make([]eventstore.RecordedEvent, 0, chunk)
		next := -1
		var start time.Time
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			buf = buf[:0]
			if s.tel.Tracing() {
				start = time.Now()
			}
			s.mu.RLock()
			if s.closed {
				s.mu.RUnlock()
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			head := s.log.len()
			if next < 0 {
				next = startIndex(opts.From, false, head)
			}
			// Scan at most a few chunks' worth for a filtered subscription,
			// so the lock is never held long.
			for scanned := 0; next < head && len(buf) < cap(buf) && scanned < 8*chunk; scanned++ {
				r := s.log.at(next)
				if all || filter.Match(r.stream.id, r.typ) {
					buf = append(buf, r.event(next))
				}
				next++
			}
			caughtUp := next >= head
			var wait chan struct{}
			if caughtUp {
				wait = s.appended
				s.waiting.Store(true) // under the read lock: see Store.waiting
			}
			s.mu.RUnlock()
			s.tel.Page(ctx, start, buf)
			for _, e := range buf {
				if !yield(e, nil) {
					return
				}
			}
			if !caughtUp {
				continue
			}
			select {
			case <-wait:
			case <-ctx.Done():
				yield(eventstore.RecordedEvent{}, ctx.Err())
				return
			}
		}
	}
}
