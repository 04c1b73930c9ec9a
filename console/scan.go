package console

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// DefaultScanLimit is how many of the most recent events [ScanIndex] reads
// at most to answer one question.
const DefaultScanLimit = 10_000

// ScanIndex answers [Index] questions on any [eventstore.Store] by reading
// at most limit (default [DefaultScanLimit]) of the most recent events,
// newest first: an event or a correlation older than that is not found,
// and the answer says so ([Found.Partial]). Streams are listed only for
// stores that can list them (the memory store); others answer
// [ErrUnsupported]. Use the PostgreSQL source for a large log.
func ScanIndex(store eventstore.Store, limit int) Index {
	return &scanIndex{store: store, limit: cmp.Or(max(limit, 0), DefaultScanLimit)}
}

type scanIndex struct {
	store eventstore.Store
	limit int
}

// recent yields the most recent events, newest first, at most s.limit.
func (s *scanIndex) recent(ctx context.Context, fn func(e eventstore.RecordedEvent) bool) (int, error) {
	n := 0
	for e, err := range s.store.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: s.limit}) {
		if err != nil {
			return n, err
		}
		n++
		if !fn(e) {
			break
		}
	}
	return n, nil
}

func (s *scanIndex) Streams(ctx context.Context, q StreamQuery) ([]StreamInfo, error) {
	m, ok := s.store.(*memory.Store)
	if !ok {
		return nil, fmt.Errorf("listing streams of a %T: %w", s.store, ErrUnsupported)
	}
	all, err := m.Streams(ctx)
	if err != nil {
		return nil, err
	}
	var out []StreamInfo
	for _, st := range all {
		if st.ID <= q.After || !strings.HasPrefix(st.ID, q.Prefix) {
			continue
		}
		out = append(out, StreamInfo{ID: st.ID, Version: st.Version})
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
	}
	return out, nil
}

func (s *scanIndex) Event(ctx context.Context, id uuid.UUID) (eventstore.RecordedEvent, error) {
	var found *eventstore.RecordedEvent
	n, err := s.recent(ctx, func(e eventstore.RecordedEvent) bool {
		if e.ID == id {
			found = &e
			return false
		}
		return true
	})
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	if found == nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("event %s (searched the last %d events): %w", id, n, ErrNotFound)
	}
	return *found, nil
}

func (s *scanIndex) Correlated(ctx context.Context, id string, limit int) (Found, error) {
	var f Found
	n, err := s.recent(ctx, func(e eventstore.RecordedEvent) bool {
		if e.Metadata.CorrelationID == id {
			f.Events = append(f.Events, e)
		}
		return limit <= 0 || len(f.Events) < limit
	})
	if err != nil {
		return Found{}, err
	}
	slices.Reverse(f.Events)
	f.Scanned = n
	f.Partial = n >= s.limit || (limit > 0 && len(f.Events) >= limit)
	return f, nil
}

// rateBuckets and rateWidth shape the sparkline: 30 bars of 10 seconds.
const (
	rateBuckets = 30
	rateWidth   = 10 * time.Second
)

func (s *scanIndex) Stats(ctx context.Context) (LogStats, error) {
	now := time.Now()
	st := LogStats{BucketWidth: rateWidth, Now: now, Estimated: true}
	var times []time.Time
	oldest := now.Add(-rateBuckets * rateWidth)
	n, err := s.recent(ctx, func(e eventstore.RecordedEvent) bool {
		if st.Head.IsZero() {
			st.Head, st.HeadAt = e.Position, e.RecordedAt
		}
		times = append(times, e.RecordedAt)
		return !e.RecordedAt.Before(oldest)
	})
	if err != nil {
		return LogStats{}, err
	}
	st.Rate = Buckets(times, n >= s.limit, now, rateBuckets, rateWidth)
	st.Tip = st.Head
	if hr, ok := s.store.(eventstore.HorizonReader); ok {
		h, err := hr.Horizon(ctx)
		if err != nil {
			return LogStats{}, err
		}
		st.Head, st.Tip, st.HeldBy = h.Head, h.Tip, h.Holder
	}
	if m, ok := s.store.(*memory.Store); ok {
		st.Events = int64(m.Len())
		streams, err := m.Streams(ctx)
		if err != nil {
			return LogStats{}, err
		}
		st.Streams, st.Estimated = int64(len(streams)), false
	} else {
		st.Events, st.Streams = -1, -1
	}
	return st, nil
}

// Buckets counts times (the recording times of the most recent events,
// newest first) into n buckets of width ending at now, oldest bucket
// first. When truncated is set the sample stopped before reaching the
// oldest bucket, so buckets older than its last time are unknown.
func Buckets(times []time.Time, truncated bool, now time.Time, n int, width time.Duration) []RateBucket {
	out := make([]RateBucket, n)
	start := now.Add(-time.Duration(n) * width)
	for i := range out {
		out[i] = RateBucket{Start: start.Add(time.Duration(i) * width), Known: true}
	}
	for _, t := range times {
		if t.Before(start) || t.After(now) {
			continue
		}
		i := min(int(t.Sub(start)/width), n-1)
		out[i].Events++
	}
	if truncated && len(times) > 0 {
		last := times[len(times)-1]
		for i := range out {
			// A bucket is known only if it starts after the oldest sampled
			// event: before that, events may have been left out.
			if !out[i].Start.After(last) {
				out[i].Known = false
			}
		}
	}
	return out
}
