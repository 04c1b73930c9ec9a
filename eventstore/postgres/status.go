package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// Head returns the position of the last event readers can reach now: the
// last one below the horizon, or the zero position when there is none.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var horizon int64
	var tid, pos *int64
	if err := s.pool.QueryRow(ctx, s.sql.head).Scan(&horizon, &tid, &pos); err != nil {
		return eventstore.Position{}, s.mapError("head", "", err)
	}
	if tid == nil {
		return eventstore.Position{}, nil
	}
	return eventstore.Position{Commit: uint64(*tid), Prepare: uint64(*pos)}, nil
}

// StreamInfo is a stream's ID and current version.
type StreamInfo struct {
	ID      string
	Version uint64
}

// StreamsOptions shapes a [Store.Streams] call; the zero value lists every
// stream.
type StreamsOptions struct {
	// Prefix keeps only streams whose ID starts with it.
	Prefix string
	// After lists streams whose ID sorts after it (byte order), for paging.
	After string
	// Limit is the most streams to return; 0 means no limit.
	Limit int
}

// Streams returns streams with their current versions, sorted by stream ID
// (byte order).
func (s *Store) Streams(ctx context.Context, opts StreamsOptions) ([]StreamInfo, error) {
	if err := s.cfg.Limits.CheckPrefix("streams", opts.Prefix); err != nil {
		return nil, err
	}
	if err := s.cfg.Limits.CheckPrefix("streams", opts.After); err != nil {
		return nil, err
	}
	if opts.Limit < 0 {
		return nil, &eventstore.ArgumentError{Op: "streams", Reason: fmt.Sprintf("negative limit %d (0 means no limit)", opts.Limit)}
	}
	var out []StreamInfo
	after := opts.After
	for {
		page := s.cfg.PageSize * 4
		if opts.Limit > 0 {
			page = min(page, opts.Limit-len(out))
		}
		query, args := s.sql.streams, []any{after, page}
		if opts.Prefix != "" {
			query, args = s.sql.streamsLike, append(args, opts.Prefix)
		}
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return nil, s.mapError("streams", "", err)
		}
		n := 0
		for rows.Next() {
			var st StreamInfo
			var v int64
			if err := rows.Scan(&st.ID, &v); err != nil {
				rows.Close()
				return nil, s.mapError("streams", "", err)
			}
			st.Version = uint64(v)
			out = append(out, st)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.mapError("streams", "", err)
		}
		if n < page || (opts.Limit > 0 && len(out) >= opts.Limit) {
			return out, nil
		}
		after = out[len(out)-1].ID
	}
}

// Status describes the store's schema and the state of its horizon.
type Status struct {
	Schema string
	// Migrations is each event store migration with when it was applied.
	Migrations []pgmigrate.State
	// Head is the last event readers can reach (see [Store.Head]).
	Head eventstore.Position
	// Horizon is the transaction id (plus the epoch offset) below which the
	// log is final; readers and subscribers stop there.
	Horizon uint64
	// HorizonAge is how long the oldest transaction that holds the horizon
	// back (any writing transaction in the cluster) has been running; 0 when
	// none is. A large value means subscribers are delayed by it.
	HorizonAge time.Duration
	// HorizonHolder is the process ID of that transaction's backend (0 for a
	// prepared transaction or none).
	HorizonHolder int32
	// Epoch is the offset added to transaction ids (see [Store.Reanchor]).
	Epoch uint64
	// NeedsReanchor is set when stored transaction ids are ahead of the
	// server's: the database was restored from a dump and [Store.Reanchor]
	// must run before new events become visible.
	NeedsReanchor bool
}

// Status reports the store's migrations, head, horizon and epoch.
func (s *Store) Status(ctx context.Context) (Status, error) {
	st := Status{Schema: s.cfg.Schema}
	var err error
	if st.Migrations, err = pgmigrate.Status(ctx, s.pool, s.cfg.Schema, Migrations); err != nil {
		return st, s.mapError("status", "", err)
	}
	if st.Head, err = s.Head(ctx); err != nil {
		return st, err
	}
	var horizon, epoch, current, maxStored int64
	var age float64
	var holder *int32
	err = s.pool.QueryRow(ctx, s.sql.status).Scan(&horizon, &epoch, &current, &maxStored, &age, &holder)
	if err != nil {
		return st, s.mapError("status", "", err)
	}
	st.Horizon, st.Epoch = uint64(horizon), uint64(epoch)
	st.HorizonAge = time.Duration(math.Max(age, 0) * float64(time.Second))
	if holder != nil {
		st.HorizonHolder = *holder
	}
	st.NeedsReanchor = maxStored >= current
	return st, nil
}
