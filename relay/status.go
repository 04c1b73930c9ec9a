package relay

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/lag"
)

// LagScanLimit is the most events [Describe] reads to count a relay's lag;
// beyond it the count is a lower bound.
const LagScanLimit = lag.ScanLimit

// Status is a relay's record with where the log is.
type Status struct {
	Record
	// Head is the position of the last event in the log.
	Head eventstore.Position
	// LagEvents counts the events after the checkpoint that pass the
	// relay's filter; LagAtLeast is set when there were more than
	// [LagScanLimit] events to look at.
	LagEvents  int
	LagAtLeast bool
	// Lag is how long the oldest event not yet relayed has waited.
	Lag time.Duration
	// InFlight counts the messages published and not yet settled, when the
	// status comes from the running relay ([Relay.Status]); 0 otherwise.
	InFlight int
}

// Status returns this relay's status (its record from the store, the lag,
// and what it has in flight).
func (r *Relay) Status(ctx context.Context) (Status, error) {
	recs, err := r.state.Records(ctx)
	if err != nil {
		return Status{}, err
	}
	rec := Record{Name: r.cfg.Name, Filter: r.cfg.Filter}
	for _, x := range recs {
		if x.Name == r.cfg.Name {
			rec = x
		}
	}
	st, err := Describe(ctx, r.store, rec)
	if err != nil {
		return Status{}, err
	}
	r.mu.Lock()
	st[0].InFlight = r.inFlight
	r.mu.Unlock()
	return st[0], nil
}

// Describe adds the head of store's log and each relay's lag to records.
// A process that does not run the relays (the CLI, the console) calls it
// with the records it read from the [Store].
func Describe(ctx context.Context, store eventstore.Store, records ...Record) ([]Status, error) {
	head, _, err := lag.Head(ctx, store)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]Status, len(records))
	for i, rec := range records {
		s := Status{Record: rec, Head: head}
		if rec.Checkpoint.Before(head) {
			c, err := lag.Scan(ctx, store, rec.Checkpoint, rec.Filter)
			if err != nil {
				return nil, err
			}
			s.LagEvents, s.LagAtLeast = c.Events, c.AtLeast
			if !c.Oldest.IsZero() {
				s.Lag = max(now.Sub(c.Oldest), 0)
			}
		}
		out[i] = s
	}
	return out, nil
}
