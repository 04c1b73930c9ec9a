package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// conflictCase is W4: writers goroutines race to append one event at a time
// to one stream, each with the version it last saw; a writer that loses
// takes the stream's version from the conflict and tries again, until it
// has appended appends events. Reported: successful appends per second and
// conflicts per second. The check reads every round's stream back: exactly
// one event per successful append, versions contiguous, no event twice,
// and (chronicle) stream order matching the global log's order.
func (e *env) conflictCase(writers, appends int) *benchCase {
	c := &benchCase{id: "W4", title: fmt.Sprintf("%d writers racing on one stream", writers), unit: "appends", aux: "conflicts"}
	mem := memory.New(memory.Config{})
	apps := map[string]appender{
		chronicleVariant: storeAppender(e.events),
		baselineVariant:  e.baselineAppender(),
		rawpgxVariant:    e.rawpgxAppender(),
		memoryVariant:    storeAppender(mem),
	}
	readers := map[string]streamReader{
		chronicleVariant: storeReader(e.events),
		baselineVariant:  e.baselineReader(),
		rawpgxVariant:    e.rawpgxReader(),
		memoryVariant:    storeReader(mem),
	}
	var mu sync.Mutex
	rounds := map[string][]string{} // variant → streams written
	for _, name := range []string{chronicleVariant, baselineVariant, rawpgxVariant, memoryVariant} {
		app := apps[name]
		c.variants = append(c.variants, variant{name: name, round: func(ctx context.Context, round int) (sample, error) {
			stream := fmt.Sprintf("W4-%s-r%d", name, round)
			mu.Lock()
			rounds[name] = append(rounds[name], stream)
			mu.Unlock()
			var conflicts atomic.Int64
			var wg sync.WaitGroup
			errs := make([]error, writers)
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					var v uint64
					for i := 0; i < appends; {
						evs := orderEvents(stream, w*appends+i+1, 1)
						next, ok, err := app(ctx, stream, v, evs)
						if err != nil {
							errs[w] = err
							return
						}
						if !ok {
							conflicts.Add(1)
						} else {
							i++
						}
						v = next
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			if err := errors.Join(errs...); err != nil {
				return sample{}, err
			}
			return sample{n: writers * appends, aux: int(conflicts.Load()), elapsed: elapsed}, nil
		}})
	}
	c.check = func(ctx context.Context) error {
		baselineInversions, rawInversions := 0, 0
		for _, name := range []string{chronicleVariant, baselineVariant, rawpgxVariant, memoryVariant} {
			for _, stream := range rounds[name] {
				rep, err := checkStream(ctx, readers[name], stream, writers*appends)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				switch {
				case name == baselineVariant:
					baselineInversions += rep.inversions
				case name == rawpgxVariant:
					rawInversions += rep.inversions
				case rep.inversions > 0:
					return fmt.Errorf("%s: stream %s: %d events sort before their predecessor in the global log", name, stream, rep.inversions)
				}
			}
		}
		c.note = fmt.Sprintf("W4 check passed: every stream holds exactly one event per successful append, versions contiguous, "+
			"no event ID twice; chronicle's and the memory store's streams follow the global log's order. "+
			"The baseline (no per-stream order guard) had %d events whose global position sorts before their predecessor's in the stream, raw pgx %d.",
			baselineInversions, rawInversions)
		return nil
	}
	return c
}
