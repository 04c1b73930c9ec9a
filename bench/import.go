package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
)

// importStreams is how many new streams a W9 batch spreads over.
const importStreams = 10

// importCase is W9: bulk-load n events (over importStreams new streams) in
// one batch. chronicle: Store.Import (version checks, limits, one
// transaction, COPY); baseline: one COPY into baseline_events in a
// transaction stamped with its id; raw pgx: one COPY into rawpgx_events.
// The batches are built before the clock starts; the check reads each
// stream's version back.
func (e *env) importCase(n int) *benchCase {
	c := &benchCase{id: "W9", title: fmt.Sprintf("bulk import of %d events", n), unit: "events"}
	batch := func(name string, round int) []eventstore.RecordedEvent {
		evs := make([]eventstore.RecordedEvent, 0, n)
		for s := range importStreams {
			stream := fmt.Sprintf("W9-%s-r%d-s%d", name, round, s)
			for i, ev := range orderEvents(stream, 1, n/importStreams+boolInt(s < n%importStreams)) {
				evs = append(evs, eventstore.RecordedEvent{Event: ev, StreamID: stream, Version: uint64(i + 1)})
			}
		}
		return evs
	}
	timed := func(name string, load func(ctx context.Context, evs []eventstore.RecordedEvent) error) roundFunc {
		return func(ctx context.Context, round int) (sample, error) {
			evs := batch(name, round)
			start := time.Now()
			if err := load(ctx, evs); err != nil {
				return sample{}, err
			}
			return sample{n: len(evs), elapsed: time.Since(start)}, nil
		}
	}
	c.variants = []variant{
		{name: chronicleVariant, round: timed(chronicleVariant, func(ctx context.Context, evs []eventstore.RecordedEvent) error {
			res, err := e.events.Import(ctx, evs)
			if err == nil && res.Events != len(evs) {
				err = fmt.Errorf("imported %d of %d events", res.Events, len(evs))
			}
			return err
		})},
		{name: baselineVariant, round: timed(baselineVariant, e.baselineCopy)},
		{name: rawpgxVariant, round: timed(rawpgxVariant, e.rawpgxCopy)},
	}
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// baselineCopy loads events into baseline_events with one COPY, in a
// transaction whose id stamps the rows.
func (e *env) baselineCopy(ctx context.Context, events []eventstore.RecordedEvent) error {
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var tid int64
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text::bigint, now()`).Scan(&tid, &now); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{e.schema, "baseline_events"},
			[]string{"transaction_id", "stream_id", "version", "event_id", "type", "data", "metadata", "recorded_at"},
			pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
				ev := &events[i]
				md, err := rawpgxMetadata(ev.Metadata)
				if err != nil {
					return nil, err
				}
				at := ev.RecordedAt
				if at.IsZero() {
					at = now
				}
				return []any{tid, ev.StreamID, int64(ev.Version), [16]byte(ev.ID), ev.Type, ev.Data, md, at}, nil
			}))
		if err == nil && n != int64(len(events)) {
			err = fmt.Errorf("copied %d of %d rows", n, len(events))
		}
		return err
	})
}
