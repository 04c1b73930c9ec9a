package projection

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/batch"
)

// Progress reports a rebuild's advance.
type Progress struct {
	Projection string
	// Events is how many events have been applied so far.
	Events uint64
	// Rate is the events applied per second since the rebuild started.
	Rate float64
	// Position is the last event applied; Head is the log's head when the
	// replay started.
	Position eventstore.Position
	Head     eventstore.Position
	Elapsed  time.Duration
	// ETA estimates the time left from how far Position is between the
	// start of the log and Head (by their Prepare components, which grow
	// with the log in every store); zero once done.
	ETA  time.Duration
	Done bool
}

// RebuildOptions shapes a rebuild. The zero value reports no progress.
type RebuildOptions struct {
	// Progress is called from the runner's goroutine at most once per
	// Every (default 1s) and once at the end.
	Progress func(Progress)
	Every    time.Duration
}

type rebuildRequest struct {
	opts RebuildOptions
	done chan error
}

// Rebuild resets the projection name — its read model through the
// projection's reset function and its checkpoint, in one unit of work — and
// replays the whole log in large batches, reporting progress. It returns
// when the replay has reached the head of the log as it was when the replay
// started; the projection then follows the log live again.
//
// While [Runner.Run] is running, the rebuild runs on the projection's own
// goroutine, and waits for this runner to own the projection; cancelling
// ctx stops the waiting, not a rebuild under way. Without Run it claims the
// projection itself, and releases it when done.
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
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
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
	err := w.replay(ctx, claim, rec, req.opts)
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

// replay applies the log from rec.Checkpoint to its current head in batches
// of RebuildBatchSize, then sets the projection running. It reads with
// ReadAll, which ends at the head, filtering on the client.
func (w *worker[Tx]) replay(ctx context.Context, claim Claim[Tx], rec *Record, opts RebuildOptions) error {
	head, _, err := Head(ctx, w.r.store)
	if err != nil {
		return err
	}
	every := opts.Every
	if every <= 0 {
		every = time.Second
	}
	start := time.Now()
	var events uint64
	last := start
	report := func(done bool) {
		if opts.Progress == nil {
			return
		}
		now := time.Now()
		if !done && now.Sub(last) < every {
			return
		}
		last = now
		p := Progress{Projection: w.p.name, Events: events, Position: rec.Checkpoint, Head: head, Elapsed: now.Sub(start), Done: done}
		if s := p.Elapsed.Seconds(); s > 0 {
			p.Rate = float64(events) / s
		}
		if !done && head.Prepare > 0 && rec.Checkpoint.Prepare > 0 {
			frac := min(float64(rec.Checkpoint.Prepare)/float64(head.Prepare), 1)
			p.ETA = time.Duration(float64(p.Elapsed) * (1 - frac) / frac)
		}
		opts.Progress(p)
	}
	filter := w.filter
	from := rec.Checkpoint
	open := func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
		return func(yield func(eventstore.RecordedEvent, error) bool) {
			for e, err := range w.r.store.ReadAll(ctx, eventstore.ReadAllOptions{From: from}) {
				if err == nil && !filter.Match(e.StreamID, e.Type) {
					continue
				}
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
	for evs, err := range batch.Of(ctx, open, w.r.cfg.RebuildBatchSize) {
		if err != nil {
			return err
		}
		if err := w.applyBatch(ctx, claim, rec, evs); err != nil {
			return err
		}
		if rec.State == Failed {
			return nil
		}
		events += uint64(len(evs))
		report(false)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := claim.SetState(ctx, rec.Checkpoint, Running); err != nil {
		return err
	}
	rec.State = Running
	report(true)
	w.r.log.Info("rebuild: done", "projection", w.p.name, "events", events, "elapsed", time.Since(start))
	return nil
}
