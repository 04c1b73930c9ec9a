package postgres

import (
	"context"
	"iter"
	"math"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Subscribe implements [eventstore.Store]. It catches up in pages of
// [Config.PageSize] events, then waits for a wake-up (a local append, a
// NOTIFY from another process) or for [Config.PollInterval] to pass, and
// reads again. Every read stops at the horizon, so no event can later
// commit behind the subscription's position; a long-running transaction
// anywhere in the cluster therefore delays delivery until it ends.
//
// A dropped connection or another transient error is retried with back-off
// from the last delivered position: nothing is skipped or delivered twice.
// Other errors end the subscription.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		if err := s.cfg.Limits.CheckFilter("subscribe", opts.Filter); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		s.startListener()
		pause := backoff.Backoff{Min: 50 * time.Millisecond, Max: 5 * time.Second}
		pos := opts.From
		page := s.cfg.PageSize
		buf := make([]eventstore.RecordedEvent, 0, page)
		timer := time.NewTimer(s.cfg.PollInterval)
		held := time.Millisecond
		defer timer.Stop()
		// below is the horizon kept while pages come back full, as in
		// ReadAll: a catch-up reads on below it without taking another; a
		// short page under it is followed by a readPage, which takes a
		// fresh one before the subscription counts itself caught up.
		var below int64
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			if s.isClosed() {
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			// Take the wake-up channel before reading, so an append that
			// commits during the read still wakes the next wait.
			wake := s.waitChan()
			var h horizon
			var err error
			var start time.Time
			if s.tel.Tracing() {
				start = time.Now()
			}
			cached := below > 0
			if cached {
				buf, err = s.readBelow(ctx, buf[:0], pos, false, page, opts.Filter, below)
			} else {
				buf, h, err = s.readPage(ctx, buf[:0], pos, false, page, opts.Filter)
			}
			if err != nil {
				below = 0
				// What arrived before the failure is final: deliver it.
				s.tel.Count(ctx, telemetry.OpSubscribe, len(buf))
				for _, e := range buf {
					if !yield(e, nil) {
						return
					}
					pos = e.Position
				}
				if ctx.Err() != nil {
					yield(eventstore.RecordedEvent{}, ctx.Err())
					return
				}
				if isolatable(ctx, err) {
					// Perhaps one event cannot be read: find out (see
					// unreadable.go).
					types, prefixes := filterArgs(opts.Filter)
					e, ierr := s.isolate(ctx, s.sql.nextAll, []any{clampPos(pos.Commit), clampPos(pos.Prepare), 1, types, prefixes}, err)
					if ierr == nil {
						s.tel.Count(ctx, telemetry.OpSubscribe, 1)
						if !yield(e, nil) {
							return
						}
						pos = e.Position
						continue
					}
					if ctx.Err() != nil {
						yield(eventstore.RecordedEvent{}, ctx.Err())
						return
					}
					if !transient(ierr) {
						yield(eventstore.RecordedEvent{}, s.readFailure("subscribe", "", ierr))
						return
					}
					err = ierr
				}
				d := pause.Next()
				s.log.Warn("chronicle: subscription read failed; retrying from its last position", "position", pos.String(), "error", err, "retry_in", d)
				if !sleep(ctx, s.done, d) {
					continue // the loop reports ctx or Close
				}
				continue
			}
			pause.Reset()
			s.tel.Page(ctx, start, buf)
			for _, e := range buf {
				if !yield(e, nil) {
					return
				}
				pos = e.Position
			}
			if len(buf) == page {
				if !cached {
					below = h.horizon
				}
				continue
			}
			if cached {
				// The end of what was below the kept horizon: read on
				// with a fresh one.
				below = 0
				continue
			}
			// Caught up: every event below the horizon after pos has been
			// read (a filtered one passed over), and none can appear there
			// later, so the next read may start at the horizon.
			if skip := (eventstore.Position{Commit: uint64(h.horizon - 1), Prepare: math.MaxInt64}); h.horizon > 0 && skip.After(pos) {
				pos = skip
			}
			// Committed events wait behind a transaction in flight, which
			// may end without anyone sending a wake-up: look again soon.
			if h.held() {
				timer.Reset(held)
				held = min(2*held, s.cfg.PollInterval)
			} else {
				timer.Reset(s.cfg.PollInterval)
				held = time.Millisecond
			}
			select {
			case <-wake:
			case <-timer.C:
			case <-ctx.Done():
			}
		}
	}
}

// sleep waits for d, ctx or done; it reports whether d passed.
func sleep(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	return backoff.Wait(ctx, d, done)
}
