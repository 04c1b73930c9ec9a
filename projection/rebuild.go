package projection

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/batch"
)

// Progress reports a rebuild's advance.
type Progress struct {
	Projection string
	// Events is how many events have been applied so far.
	Events uint64
	// Rate is the events applied per second since the rebuild started.
	Rate float64
	// Position is the last event applied; Head is the end of the log when
	// the replay started, which it replays up to: the last committed event,
	// also one that readers cannot reach yet (see Waiting).
	Position eventstore.Position
	Head     eventstore.Position
	Elapsed  time.Duration
	// ETA estimates the time left from how far Position is between the
	// start of the log and Head (by their Prepare components, which grow
	// with the log in every store); zero once done.
	ETA time.Duration
	// Waiting is set while the replay has read everything the store lets
	// it read and that is still short of Head: the store's horizon holds
	// the rest back (PostgreSQL, behind a transaction still running in the
	// cluster). Holder is that transaction, when the store can tell.
	Waiting bool
	Holder  *eventstore.HorizonHolder
	Done    bool
}

// RebuildOptions shapes a rebuild. The zero value reports no progress.
type RebuildOptions struct {
	// Progress is called from the runner's goroutine at most once per
	// Every (default 1s), when the replay starts waiting for the horizon,
	// and once at the end.
	Progress func(Progress)
	Every    time.Duration
}

// ErrRebuildIncomplete: a rebuild stopped before it had replayed the log up
// to its end as of the rebuild's start. See [RebuildIncompleteError].
var ErrRebuildIncomplete = errors.New("projection: rebuild incomplete")

// RebuildIncompleteError reports a rebuild that has not replayed the log up
// to Head (its end when the replay started) because its context ended
// first — typically while it waited for the store's horizon to pass Head.
// The projection stays [Rebuilding] at Position: the next owner (or, while
// [Runner.Run] runs, the runner itself) goes on replaying from there; it
// never returns to running on a partial read model. It unwraps to
// [ErrRebuildIncomplete] and to Err.
type RebuildIncompleteError struct {
	Projection string
	// Position is the last event applied; Head the end of the log the
	// rebuild replays up to.
	Position, Head eventstore.Position
	// Events is how many events were applied.
	Events uint64
	// Holder is the transaction whose horizon the rebuild was waiting on,
	// if it was.
	Holder *eventstore.HorizonHolder
	// Continues is set when the rebuild goes on in the running runner (the
	// caller stopped waiting for it, not the rebuild).
	Continues bool
	// Err is why it stopped: the context's error.
	Err error
}

func (e *RebuildIncompleteError) Error() string {
	msg := fmt.Sprintf("projection %q: rebuild incomplete: %d events applied, at %v of %v", e.Projection, e.Events, e.Position, e.Head)
	if e.Holder != nil {
		msg += "; waiting for " + e.Holder.String() + " to end"
	}
	if e.Continues {
		msg += "; it goes on in the runner"
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns [ErrRebuildIncomplete] and Err.
func (e *RebuildIncompleteError) Unwrap() []error { return []error{ErrRebuildIncomplete, e.Err} }

type rebuildRequest struct {
	opts RebuildOptions
	done chan error

	mu   sync.Mutex
	last Progress // the latest progress, for a caller that stops waiting
}

func (q *rebuildRequest) track(p Progress) {
	q.mu.Lock()
	q.last = p
	q.mu.Unlock()
}

// Rebuild resets the projection name — its read model through the
// projection's reset function and its checkpoint, in one unit of work — and
// replays the log in large batches, reporting progress, up to its end as it
// was when the replay started: the last committed event, also one that the
// store's horizon still hides (the replay then waits for the horizon to
// pass it, reporting [Progress.Waiting]). The projection then follows the
// log live again.
//
// While [Runner.Run] is running, the rebuild runs on the projection's own
// goroutine — after the batch it is applying, if it follows the log live —
// and waits for this runner to own the projection; cancelling ctx stops the
// waiting, not a rebuild under way (the error then is a
// [*RebuildIncompleteError] with Continues set). Without Run it claims the
// projection itself, and releases it when done; cancelling ctx stops it,
// with a [*RebuildIncompleteError], and the projection stays [Rebuilding]
// until an owner finishes the replay.
func (r *Runner[Tx]) Rebuild(ctx context.Context, name string, opts RebuildOptions) error {
	w := r.workers[name]
	if w == nil {
		return r.unknown(name)
	}
	if w.p.reset == nil {
		return fmt.Errorf("%w: %q", ErrNoReset, name)
	}
	req := &rebuildRequest{opts: opts, done: make(chan error, 1)}
	r.mu.Lock()
	running, done := r.running, r.done
	r.mu.Unlock()
	if !running {
		claim, err := r.cps.Claim(ctx, name, w.filter)
		if err != nil {
			return err
		}
		defer claim.Release(context.WithoutCancel(ctx))
		rec, err := claim.Record(ctx)
		if err != nil {
			return err
		}
		_ = w.runRebuild(ctx, claim, &rec, req)
		return <-req.done
	}
	select {
	case w.rebuild <- req:
	case <-done:
		return ErrRunnerStopped
	case <-ctx.Done():
		return fmt.Errorf("projection %q: rebuild not started: %w", name, ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		req.mu.Lock()
		p := req.last
		req.mu.Unlock()
		return &RebuildIncompleteError{Projection: name, Position: p.Position, Head: p.Head, Events: p.Events,
			Holder: p.Holder, Continues: true, Err: ctx.Err()}
	}
}

// runRebuild resets and replays, reporting the outcome on req.done. It
// returns an error when the worker must stop serving.
func (w *worker[Tx]) runRebuild(ctx context.Context, claim Claim[Tx], rec *Record, req *rebuildRequest) error {
	w.r.log.Info("rebuild: resetting", "projection", w.p.name)
	if err := claim.Reset(ctx, rec.Checkpoint, w.p.reset); err != nil {
		req.done <- fmt.Errorf("projection %q: reset: %w", w.p.name, err)
		if mustStop(ctx, err) {
			return err
		}
		return nil
	}
	rec.Checkpoint, rec.CheckpointAt, rec.Handled, rec.State, rec.Failure = eventstore.Position{}, time.Time{}, 0, Rebuilding, nil
	err := w.replay(ctx, claim, rec, req.opts, req.track)
	switch {
	case err != nil:
		req.done <- err
	case rec.State == Failed:
		req.done <- fmt.Errorf("projection %q: rebuild stopped at the event at %v: %s", w.p.name, rec.Failure.Position, rec.Failure.Error)
	default:
		req.done <- nil
	}
	return err
}

// logEnd returns the end of store's log that a replay starting now must
// reach: the last committed event, reachable yet or not.
func logEnd(ctx context.Context, store eventstore.Store) (eventstore.Position, error) {
	if hr, ok := store.(eventstore.HorizonReader); ok {
		h, err := hr.Horizon(ctx)
		return h.Tip, err
	}
	head, _, err := Head(ctx, store)
	return head, err
}

// replay applies the log from rec.Checkpoint up to the log's end as of now
// (target) in batches of RebuildBatchSize, then sets the projection
// running; what was appended since is the live log's. It reads with
// ReadAll, filtering on the client; if the store's head is short of target
// (a PostgreSQL horizon held back by a transaction in flight), it waits,
// polling, and reads on. track, if not
// nil, sees every progress report, throttled or not. An ended ctx returns a
// [*RebuildIncompleteError].
func (w *worker[Tx]) replay(ctx context.Context, claim Claim[Tx], rec *Record, opts RebuildOptions, track func(Progress)) error {
	target, err := logEnd(ctx, w.r.store)
	if err != nil {
		return err
	}
	every := opts.Every
	if every <= 0 {
		every = time.Second
	}
	start := time.Now()
	var events uint64
	var holder *eventstore.HorizonHolder
	waiting := false
	last := start
	progress := func(done bool) Progress {
		now := time.Now()
		p := Progress{Projection: w.p.name, Events: events, Position: rec.Checkpoint, Head: target, Elapsed: now.Sub(start),
			Waiting: waiting, Holder: holder, Done: done}
		if s := p.Elapsed.Seconds(); s > 0 {
			p.Rate = float64(events) / s
		}
		if !done && target.Prepare > 0 && rec.Checkpoint.Prepare > 0 {
			frac := min(float64(rec.Checkpoint.Prepare)/float64(target.Prepare), 1)
			p.ETA = time.Duration(float64(p.Elapsed) * (1 - frac) / frac)
		}
		return p
	}
	report := func(done, now bool) {
		p := progress(done)
		if track != nil {
			track(p)
		}
		if opts.Progress == nil || (!done && !now && time.Since(last) < every) {
			return
		}
		last = time.Now()
		opts.Progress(p)
	}
	incomplete := func(err error) error {
		if ctx.Err() == nil {
			return err
		}
		return &RebuildIncompleteError{Projection: w.p.name, Position: rec.Checkpoint, Head: target, Events: events,
			Holder: holder, Err: ctx.Err()}
	}
	filter := w.filter
	read := rec.Checkpoint // the last event read, handled or filtered out
	final := false         // the pass under way started after the horizon passed target
	pause := backoff.Backoff{Min: 10 * time.Millisecond, Max: w.r.cfg.PollInterval}
	var stuck stuckRead
	for {
		from, seen := read, read // seen is the producer's, read after the range ends
		open := func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return func(yield func(eventstore.RecordedEvent, error) bool) {
				for e, err := range w.r.store.ReadAll(ctx, eventstore.ReadAllOptions{From: from}) {
					if err == nil {
						if e.Position.After(target) {
							seen = target // what follows is the live log's
							return
						}
						seen = e.Position
						if !filter.Match(e.StreamID, e.Type) {
							continue
						}
					}
					if !yield(e, err) || err != nil {
						return
					}
				}
			}
		}
		var ue *eventstore.UnreadableEventError
		for evs, err := range batch.Of(ctx, open, w.r.cfg.RebuildBatchSize) {
			if err != nil {
				var ok bool
				if ue, ok = asUnreadable(err, rec); ok && ctx.Err() == nil {
					break
				}
				return incomplete(err)
			}
			if err := w.applyBatch(ctx, ctx, claim, rec, evs); err != nil {
				return incomplete(err)
			}
			if rec.State == Failed {
				return nil
			}
			events += uint64(len(evs))
			if waiting {
				waiting, holder = false, nil
				w.r.log.Info("rebuild: the horizon moved on; replaying", "projection", w.p.name)
			}
			report(false, false)
		}
		if err := ctx.Err(); err != nil {
			return incomplete(err)
		}
		if seen.After(read) {
			read = seen
		}
		if ue != nil {
			again, err := w.unreadable(ctx, ctx, claim, rec, ue, &stuck)
			if err != nil {
				return incomplete(err)
			}
			if !again {
				return nil // stopped at it: rec.State is Failed
			}
			continue
		}
		if !read.Before(target) || final {
			break
		}
		// The store stopped short of the end: its horizon holds the rest.
		h, ok, err := w.horizon(ctx)
		if err != nil {
			return incomplete(err)
		}
		if !ok || !h.Head.Before(target) {
			final = true // everything up to target is readable now: read it
			continue
		}
		if !waiting || h.Holder != nil && (holder == nil || *holder != *h.Holder) {
			waiting, holder = true, h.Holder
			args := []any{"projection", w.p.name, "position", read, "head", target}
			if holder != nil {
				args = append(args, "holder", holder.String())
			}
			w.r.log.Warn("rebuild: waiting for the horizon to pass the end of the log", args...)
			report(false, true)
		} else {
			report(false, false)
		}
		if !backoff.Sleep(ctx, pause.Next()) {
			return incomplete(ctx.Err())
		}
	}
	waiting, holder = false, nil
	if err := claim.SetState(ctx, rec.Checkpoint, Running); err != nil {
		return incomplete(err)
	}
	rec.State = Running
	report(true, true)
	w.r.log.Info("rebuild: done", "projection", w.p.name, "events", events, "elapsed", time.Since(start))
	return nil
}

// horizon reads the store's horizon, if it has one.
func (w *worker[Tx]) horizon(ctx context.Context) (eventstore.Horizon, bool, error) {
	hr, ok := w.r.store.(eventstore.HorizonReader)
	if !ok {
		return eventstore.Horizon{}, false, nil
	}
	h, err := hr.Horizon(ctx)
	return h, err == nil, err
}
