package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// appendVariants returns the three appenders: chronicle on PostgreSQL, the
// baseline and chronicle's memory store (fresh for the case).
func (e *env) appendVariants() map[string]appender {
	return map[string]appender{
		chronicleVariant: storeAppender(e.events),
		baselineVariant:  e.baselineAppender(),
		rawpgxVariant:    e.rawpgxAppender(),
		memoryVariant:    storeAppender(memory.New(memory.Config{})),
	}
}

// appendCase builds a case whose every variant runs writers goroutines,
// each appending appends times batch events to its own stream.
func (e *env) appendCase(id, title string, writers, appends, batch int) *benchCase {
	c := &benchCase{id: id, title: title, unit: "appends"}
	if batch > 1 {
		c.unit = "events"
	}
	for _, name := range []string{chronicleVariant, baselineVariant, rawpgxVariant, memoryVariant} {
		app := e.appendVariants()[name]
		c.variants = append(c.variants, variant{name: name, round: func(ctx context.Context, round int) (sample, error) {
			// The events are built before the clock starts: the same bytes
			// for every variant, not part of what is measured.
			streams := make([]string, writers)
			work := make([][][]eventstore.Event, writers)
			for w := range writers {
				streams[w] = fmt.Sprintf("%s-%s-r%d-w%d", id, name, round, w)
				work[w] = make([][]eventstore.Event, appends)
				for i := range appends {
					work[w][i] = orderEvents(streams[w], i*batch+1, batch)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, writers)
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					var v uint64
					for _, evs := range work[w] {
						next, ok, err := app(ctx, streams[w], v, evs)
						if err == nil && !ok {
							err = fmt.Errorf("unexpected conflict on %s at version %d (stream at %d)", streams[w], v, next)
						}
						if err != nil {
							errs[w] = err
							return
						}
						v = next
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			for _, err := range errs {
				if err != nil {
					return sample{}, err
				}
			}
			return sample{n: writers * appends * batch, elapsed: elapsed}, nil
		}})
	}
	return c
}
