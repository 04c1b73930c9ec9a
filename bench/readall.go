package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// readAllCase is W6: read the first n events of the global log, in order.
// Setup appends n events (in 1,000-event appends to n/1,000 streams) to each
// variant, so every log holds at least n. chronicle pages through the log
// with ReadAll; the baseline reads the same rows with one query below the
// horizon. Every round checks the count and that positions ascend.
func (e *env) readAllCase(ctx context.Context, n int) (*benchCase, error) {
	mem := memory.New(memory.Config{})
	for i := range (n + 999) / 1000 {
		stream := fmt.Sprintf("W6-%d", i)
		evs := orderEvents(stream, 1, min(1000, n-i*1000))
		for _, app := range []appender{storeAppender(e.events), e.baselineAppender(), e.rawpgxAppender(), storeAppender(mem)} {
			if _, ok, err := app(ctx, stream, 0, slices.Clone(evs)); err != nil || !ok {
				return nil, fmt.Errorf("W6 setup: append to %s: ok=%v: %v", stream, ok, err)
			}
		}
	}
	if err := e.waitSettled(ctx, time.Minute); err != nil {
		return nil, err
	}
	c := &benchCase{id: "W6", title: fmt.Sprintf("read the global log (%d events)", n), unit: "events"}
	storeRound := func(s eventstore.Store) roundFunc {
		return func(ctx context.Context, round int) (sample, error) {
			var prev eventstore.Position
			count := 0
			start := time.Now()
			for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Limit: n}) {
				if err != nil {
					return sample{}, err
				}
				if !ev.Position.After(prev) {
					return sample{}, fmt.Errorf("position %v after %v: the log is out of order", ev.Position, prev)
				}
				prev = ev.Position
				count++
			}
			elapsed := time.Since(start)
			if count != n {
				return sample{}, fmt.Errorf("read %d events, want %d", count, n)
			}
			return sample{n: count, elapsed: elapsed}, nil
		}
	}
	c.variants = []variant{
		{name: chronicleVariant, round: storeRound(e.events)},
		{name: baselineVariant, round: func(ctx context.Context, round int) (sample, error) {
			var prev eventstore.Position
			start := time.Now()
			rows, err := e.pool.Query(ctx, e.base.readAll, n)
			if err != nil {
				return sample{}, err
			}
			count, err := scanEvents(rows, func(ev eventstore.RecordedEvent) error {
				if !ev.Position.After(prev) {
					return fmt.Errorf("position %v after %v: the log is out of order", ev.Position, prev)
				}
				prev = ev.Position
				return nil
			})
			elapsed := time.Since(start)
			if err != nil {
				return sample{}, err
			}
			if count != n {
				return sample{}, fmt.Errorf("read %d events, want %d", count, n)
			}
			return sample{n: count, elapsed: elapsed}, nil
		}},
		{name: rawpgxVariant, round: func(ctx context.Context, round int) (sample, error) {
			start := time.Now()
			count, err := e.rawpgxReadAll(ctx, n)
			elapsed := time.Since(start)
			if err != nil {
				return sample{}, err
			}
			if count != n {
				return sample{}, fmt.Errorf("read %d events, want %d", count, n)
			}
			return sample{n: count, elapsed: elapsed}, nil
		}},
		{name: memoryVariant, round: storeRound(mem)},
	}
	return c, nil
}
