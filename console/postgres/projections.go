package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chronicle-go/chronicle/console"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// Status implements [console.Projections]: every record of the checkpoint
// table with the head, and each projection's lag counted over at most
// [projection.LagScanLimit] events after its checkpoint, as
// [projection.Describe] does, but without reading their payloads.
func (s *Source) Status(ctx context.Context) ([]projection.Status, error) {
	records, err := projpg.ListStatus(ctx, s.pool, s.cfg.Schema)
	if err != nil {
		return nil, err
	}
	h, err := s.events.Horizon(ctx)
	if err != nil {
		return nil, err
	}
	head := h.Head
	now := time.Now()
	out := make([]projection.Status, len(records))
	errs := make([]error, len(records))
	// Each lagging projection costs a scan of up to LagScanLimit index
	// entries: run them at once, on the pool's connections.
	var wg sync.WaitGroup
	for i, r := range records {
		out[i] = projection.Status{Record: r, Head: head, Tip: h.Tip, HeldBy: h.Holder}
		if !r.Checkpoint.Before(head) {
			continue
		}
		wg.Go(func() { errs[i] = s.lag(ctx, &out[i], now) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// lag counts st's lag: the events after its checkpoint that pass its
// filter, among at most LagScanLimit+1.
func (s *Source) lag(ctx context.Context, st *projection.Status, now time.Time) error {
	n, atLeast, oldest, err := s.lagOf(ctx, st.Checkpoint, st.Filter, now)
	if err != nil {
		return fmt.Errorf("console/postgres: lag of %q: %w", st.Name, err)
	}
	st.LagEvents, st.LagAtLeast, st.Lag = n, atLeast, oldest
	return nil
}

// lagOf counts the events after cp that pass f, among at most
// LagScanLimit+1 index entries (atLeast: there were more), without reading
// payloads, and how long the oldest of them has waited.
func (s *Source) lagOf(ctx context.Context, cp eventstore.Position, f eventstore.Filter, now time.Time) (int, bool, time.Duration, error) {
	var matched, scanned int
	var oldest pgtype.Timestamptz
	var types, prefixes []string
	if len(f.EventTypes) > 0 {
		types = f.EventTypes
	}
	if len(f.StreamPrefixes) > 0 {
		prefixes = f.StreamPrefixes
	}
	err := s.pool.QueryRow(ctx, s.sql.lag, int64(cp.Commit), int64(cp.Prepare), types, prefixes,
		projection.LagScanLimit+1).Scan(&matched, &oldest, &scanned)
	if err != nil {
		return 0, false, 0, err
	}
	var lag time.Duration
	if oldest.Valid {
		lag = max(now.Sub(oldest.Time), 0)
	}
	return min(matched, projection.LagScanLimit), scanned > projection.LagScanLimit, lag, nil
}

// Skip implements [console.Projections]: through the application's
// runner when it runs the projection (it then resumes at once), else in
// the checkpoint table (its owner resumes within its poll interval).
func (s *Source) Skip(ctx context.Context, name string) error {
	if s.cfg.Projections != nil {
		err := s.cfg.Projections.Skip(ctx, name)
		if !errors.Is(err, projection.ErrUnknownProjection) {
			return err
		}
	}
	return projpg.Skip(ctx, s.pool, s.cfg.Schema, name)
}

// Retry implements [console.Projections], as Skip does.
func (s *Source) Retry(ctx context.Context, name string) error {
	if s.cfg.Projections != nil {
		err := s.cfg.Projections.Retry(ctx, name)
		if !errors.Is(err, projection.ErrUnknownProjection) {
			return err
		}
	}
	return projpg.Retry(ctx, s.pool, s.cfg.Schema, name)
}

// Rebuild implements [console.Projections] through [Config.Projections];
// without it, it fails with [console.ErrUnsupported].
func (s *Source) Rebuild(ctx context.Context, name string, opts projection.RebuildOptions) error {
	if s.cfg.Projections == nil {
		return fmt.Errorf("rebuilding %q needs the projection's code: serve the console from the application (see docs/console.md): %w",
			name, console.ErrUnsupported)
	}
	return s.cfg.Projections.Rebuild(ctx, name, opts)
}
