package projection

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/catchup"
)

// WaitFor returns once every projection of the runner has applied every
// event it handles up to and including pos, or with ctx's error: read your
// writes. Pass the position an append returned
// ([eventstore.AppendResult].Positions, [aggregate.Appended].Positions) and
// an HTTP handler can answer from the read models once they show it.
//
// It reads each projection's checkpoint from the checkpoint store, so it
// also waits for projections another process owns (with a PostgreSQL
// checkpoint store); this runner's own commits wake it at once, others are
// polled (every 100ms at most). A projection stopped at a failed event at
// or before pos makes WaitFor fail with a [*WaitError]: waiting longer
// would not help until an operator acts. WaitFor does not need the runner
// to be running.
func (r *Runner[Tx]) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for _, name := range r.names {
		if err := r.WaitForProjection(ctx, name, pos); err != nil {
			return err
		}
	}
	return nil
}

// WaitForProjection is [Runner.WaitFor] for the projection name alone.
func (r *Runner[Tx]) WaitForProjection(ctx context.Context, name string, pos eventstore.Position) error {
	w := r.workers[name]
	if w == nil {
		return r.unknown(name)
	}
	return catchup.Wait(ctx, catchup.Source{
		Store:   r.store,
		Filter:  w.filter,
		Changed: r.changed,
		Checkpoint: func(ctx context.Context) (eventstore.Position, error) {
			recs, err := r.cps.Records(ctx)
			if err != nil {
				return eventstore.Position{}, err
			}
			for _, rec := range recs {
				if rec.Name != name {
					continue
				}
				if rec.State == Failed && rec.Failure != nil && !rec.Failure.Position.After(pos) {
					return eventstore.Position{}, &WaitError{Projection: name, Position: pos, Failure: *rec.Failure}
				}
				return rec.Checkpoint, nil
			}
			return eventstore.Position{}, nil // not claimed yet: nothing applied
		},
	}, pos)
}

// WaitError reports a [Runner.WaitFor] that cannot succeed: the projection
// is stopped at a failed event at or before the position waited for.
type WaitError struct {
	Projection string
	Position   eventstore.Position
	Failure    Failure
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("projection %q: cannot reach %v: stopped at the failed event %s at %v: %s",
		e.Projection, e.Position, e.Failure.EventID, e.Failure.Position, e.Failure.Error)
}

// Unwrap returns [ErrFailed].
func (e *WaitError) Unwrap() error { return ErrFailed }

// changed returns a channel closed at this runner's next commit.
func (r *Runner[Tx]) changed() <-chan struct{} {
	r.commits.Lock()
	defer r.commits.Unlock()
	if r.committed == nil {
		r.committed = make(chan struct{})
	}
	return r.committed
}

// notify wakes the waiters of [Runner.WaitFor] after a commit.
func (r *Runner[Tx]) notify() {
	r.commits.Lock()
	if r.committed != nil {
		close(r.committed)
		r.committed = nil
	}
	r.commits.Unlock()
}

// ErrFailed: the projection is stopped at a failed event (see
// [WaitError]).
var ErrFailed = errors.New("projection: stopped at a failed event")
