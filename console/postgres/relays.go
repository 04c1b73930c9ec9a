package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/console"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// Relays implements [console.Relays]: every relay's record from the relay
// tables, with its lag counted as a projection's is.
func (s *Source) Relays(ctx context.Context) ([]console.RelayStatus, error) {
	records, err := relaypg.ListStatus(ctx, s.pool, s.cfg.Schema)
	if err != nil {
		return nil, err
	}
	head, err := s.events.Head(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]console.RelayStatus, len(records))
	errs := make([]error, len(records))
	var wg sync.WaitGroup
	for i, r := range records {
		out[i] = console.RelayStatus{Name: r.Name, Position: r.Checkpoint, Head: head, Published: r.Published,
			Owned: r.Owned, Owner: r.Owner, Parked: r.Parked, LastError: r.LastError}
		if r.Checkpoint.Before(head) {
			wg.Go(func() {
				out[i].LagEvents, out[i].LagAtLeast, out[i].Lag, errs[i] = s.lagOf(ctx, r.Checkpoint, r.Filter, now)
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
