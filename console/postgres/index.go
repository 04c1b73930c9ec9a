package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/console"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

func scanEvents(rows pgx.Rows, err error) ([]eventstore.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []eventstore.RecordedEvent
	for rows.Next() {
		var e eventstore.RecordedEvent
		var tid, pos, version int64
		var data, md []byte
		if err := rows.Scan(&tid, &pos, &e.StreamID, &version, &e.ID, &e.Type, &data, &md, &e.RecordedAt); err != nil {
			return nil, err
		}
		e.Position = eventstore.Position{Commit: uint64(tid), Prepare: uint64(pos)}
		e.Version, e.Data, e.RecordedAt = uint64(version), data, e.RecordedAt.UTC()
		if len(md) > 0 {
			if err := json.Unmarshal(md, &e.Metadata); err != nil {
				return nil, fmt.Errorf("event %s: metadata: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Event implements [console.Index].
func (s *Source) Event(ctx context.Context, id uuid.UUID) (eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, s.sql.event, id)
	evs, err := scanEvents(rows, err)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("console/postgres: event %s: %w", id, err)
	}
	if len(evs) == 0 {
		return eventstore.RecordedEvent{}, fmt.Errorf("event %s: %w", id, console.ErrNotFound)
	}
	return evs[0], nil
}

// Correlated implements [console.Index]: with the correlation index, over
// the whole log; without it, over the most recent [Config.ScanLimit]
// events.
func (s *Source) Correlated(ctx context.Context, id string, limit int) (console.Found, error) {
	if limit <= 0 {
		limit = 1000
	}
	indexed, err := s.correlationIndexed(ctx)
	if err != nil {
		return console.Found{}, fmt.Errorf("console/postgres: correlation %q: %w", id, err)
	}
	var f console.Found
	if indexed {
		rows, err := s.pool.Query(ctx, s.sql.correlated, id, limit)
		f.Events, err = scanEvents(rows, err)
		if err != nil {
			return console.Found{}, fmt.Errorf("console/postgres: correlation %q: %w", id, err)
		}
		f.Partial = len(f.Events) >= limit
		return f, nil
	}
	rows, err := s.pool.Query(ctx, s.sql.correlatedScan, id, limit, s.cfg.ScanLimit)
	f.Events, err = scanEvents(rows, err)
	if err != nil {
		return console.Found{}, fmt.Errorf("console/postgres: correlation %q: %w", id, err)
	}
	head, err := s.events.Head(ctx)
	if err != nil {
		return console.Found{}, err
	}
	f.Partial = len(f.Events) >= limit || head.Prepare > uint64(s.cfg.ScanLimit)
	if head.Prepare > uint64(s.cfg.ScanLimit) {
		f.Scanned = s.cfg.ScanLimit
	}
	return f, nil
}

// Streams implements [console.Index]. Each stream costs one descent of
// the events' primary key. When stream IDs sort in byte order the walk
// stops at the prefix's end; otherwise (a linguistic collation
// interleaves) it steps over at most 20,000 streams and returns what it
// found by then.
func (s *Source) Streams(ctx context.Context, q console.StreamQuery) ([]console.StreamInfo, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = console.MaxPageSize
	}
	query, args := s.sql.streams, []any{q.After, limit, q.Prefix, maxWalk}
	if end, ok := prefixEnd(q.Prefix); ok && s.byteOrder {
		query, args = s.sql.streamsBounded, append(args, end)
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("console/postgres: streams: %w", err)
	}
	defer rows.Close()
	var out []console.StreamInfo
	for rows.Next() {
		var st console.StreamInfo
		var v int64
		var n int
		if err := rows.Scan(&st.ID, &v, &n); err != nil {
			return nil, fmt.Errorf("console/postgres: streams: %w", err)
		}
		if len(st.ID) < len(q.Prefix) || st.ID[:len(q.Prefix)] != q.Prefix {
			continue // the walk's end marker
		}
		st.Version = uint64(v)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("console/postgres: streams: %w", err)
	}
	return out, nil
}

// prefixEnd returns the least string above every string that starts with
// prefix, in code point (= UTF-8 byte) order: the prefix with its last
// character incremented.
func prefixEnd(prefix string) (string, bool) {
	rs := []rune(prefix)
	for len(rs) > 0 {
		last := rs[len(rs)-1] + 1
		if last == 0xD800 {
			last = 0xE000
		}
		if last <= utf8.MaxRune {
			rs[len(rs)-1] = last
			return string(rs), true
		}
		rs = rs[:len(rs)-1]
	}
	return "", false
}

// rate shape: 30 bars of 10 seconds, from at most rateSample recent
// events.
const (
	rateBuckets = 30
	rateWidth   = 10 * time.Second
	rateSample  = 20_000
)

// Stats implements [console.Index]: the head, the number of events (the
// head's identity position: rolled-back appends count too), the number
// of streams (exact up to 1,000, else the planner's estimate), and the
// rate from the recording times of the last 20,000 events.
func (s *Source) Stats(ctx context.Context) (console.LogStats, error) {
	now := time.Now()
	st := console.LogStats{BucketWidth: rateWidth, Now: now}
	h, err := s.events.Horizon(ctx)
	if err != nil {
		return st, err
	}
	st.Head, st.Tip, st.HeldBy = h.Head, h.Tip, h.Holder
	st.Events = int64(st.Head.Prepare)
	st.Estimated = true
	rows, err := s.pool.Query(ctx, s.sql.recent, rateSample)
	if err != nil {
		return st, fmt.Errorf("console/postgres: stats: %w", err)
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return st, fmt.Errorf("console/postgres: stats: %w", err)
	}
	if len(times) > 0 {
		st.HeadAt = times[0]
	}
	st.Rate = console.Buckets(times, len(times) >= rateSample, now, rateBuckets, rateWidth)
	var n int64
	if err := s.pool.QueryRow(ctx, s.sql.countStreams, exactStreams).Scan(&n); err != nil {
		return st, fmt.Errorf("console/postgres: stats: %w", err)
	}
	st.Streams = n
	if n <= exactStreams {
		return st, nil
	}
	var rowsEst int64
	var distinct float64
	err = s.pool.QueryRow(ctx, s.sql.statsEstimate, s.cfg.Schema, pgmigrate.Table(s.cfg.Schema, "events")).Scan(&rowsEst, &distinct)
	switch {
	case errors.Is(err, errNoRows):
	case err != nil:
		return st, fmt.Errorf("console/postgres: stats: %w", err)
	case distinct > 0:
		st.Streams = max(int64(distinct), n)
	case distinct < 0 && rowsEst > 0:
		st.Streams = max(int64(-distinct*float64(rowsEst)), n)
	}
	return st, nil
}
