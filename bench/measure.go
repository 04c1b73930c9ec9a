package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Variant names: the three columns of the report.
const (
	chronicleVariant = "chronicle"
	baselineVariant  = "baseline"
	rawpgxVariant    = "rawpgx"
	memoryVariant    = "memory"
)

// sample is what one variant did in one round.
type sample struct {
	// n is the units of work done (appends, events, loads, sagas).
	n int
	// aux is a secondary count (W4: conflicts), reported per second.
	aux int
	// elapsed is the timed part of the round.
	elapsed time.Duration
}

// roundFunc runs one round of a variant and times it itself, so that
// untimed preparation can sit inside it.
type roundFunc func(ctx context.Context, round int) (sample, error)

// variant is one implementation of a case.
type variant struct {
	name  string
	round roundFunc
}

// benchCase is one row (or two, with aux) of the report: the same work done
// by each variant.
type benchCase struct {
	id    string // "W1", "W5a"
	title string
	unit  string // what n counts: "appends", "events", "loads", "sagas"
	// latency reports the time per unit (ms) instead of units per second.
	latency bool
	// aux names sample.aux ("conflicts"); empty means none.
	aux      string
	variants []variant
	// check runs after every round of every variant: the correctness check
	// that makes the run fail loudly.
	check func(ctx context.Context) error
	// note is shown under the table.
	note string
	// noWarmup skips the untimed warm-up round (for cases whose every round
	// is long enough that first-use costs vanish in it).
	noWarmup bool
}

// result is a case measured: the samples of each variant, in round order.
type result struct {
	c       *benchCase
	samples map[string][]sample
}

// measure runs every round of c: chronicle, the baseline and raw pgx back
// to back, rotating which goes first, then the memory store. With warmup, an
// untimed round of each variant goes first, so that first-use costs
// (connections, prepared statements, plans, caches) are not measured. It
// stops at the first error.
func measure(ctx context.Context, c *benchCase, runs int, warmup bool, progress func(string)) (result, error) {
	res := result{c: c, samples: make(map[string][]sample)}
	byName := make(map[string]variant, len(c.variants))
	for _, v := range c.variants {
		byName[v.name] = v
	}
	if warmup && !c.noWarmup {
		for _, v := range c.variants {
			// The warm-up is round number runs: its data never collides
			// with a measured round's.
			s, err := v.round(ctx, runs)
			if err != nil {
				return res, fmt.Errorf("%s %s, warm-up round: %w", c.id, v.name, err)
			}
			progress(fmt.Sprintf("%s %-9s warm-up:   %s", c.id, v.name, formatSample(c, s)))
		}
	}
	for r := range runs {
		paired := []string{baselineVariant, chronicleVariant, rawpgxVariant}
		order := slices.Concat(paired[r%3:], paired[:r%3], []string{memoryVariant})
		for _, name := range order {
			v, ok := byName[name]
			if !ok {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			s, err := v.round(ctx, r)
			if err != nil {
				return res, fmt.Errorf("%s %s, round %d: %w", c.id, name, r+1, err)
			}
			if s.n <= 0 || s.elapsed <= 0 {
				return res, fmt.Errorf("%s %s, round %d: no work measured (%d units in %v)", c.id, name, r+1, s.n, s.elapsed)
			}
			res.samples[name] = append(res.samples[name], s)
			progress(fmt.Sprintf("%s %-9s round %d/%d: %s", c.id, name, r+1, runs, formatSample(c, s)))
		}
	}
	if c.check != nil {
		if err := c.check(ctx); err != nil {
			return res, fmt.Errorf("%s: correctness check failed: %w", c.id, err)
		}
	}
	return res, nil
}

func formatSample(c *benchCase, s sample) string {
	out := fmt.Sprintf("%d %s in %v", s.n, c.unit, s.elapsed.Round(time.Microsecond))
	if c.latency {
		out += fmt.Sprintf(" (%.3f ms/%s)", perUnitMS(s), singular(c.unit))
	} else {
		out += fmt.Sprintf(" (%.0f %s/s)", rate(s), c.unit)
	}
	if c.aux != "" {
		out += fmt.Sprintf(", %d %s", s.aux, c.aux)
	}
	return out
}

func rate(s sample) float64      { return float64(s.n) / s.elapsed.Seconds() }
func auxRate(s sample) float64   { return float64(s.aux) / s.elapsed.Seconds() }
func perUnitMS(s sample) float64 { return float64(s.elapsed.Microseconds()) / 1000 / float64(s.n) }

func singular(unit string) string {
	if len(unit) > 1 && unit[len(unit)-1] == 's' {
		return unit[:len(unit)-1]
	}
	return unit
}

// stat is the median and range of one metric over the rounds.
type stat struct {
	median, min, max float64
	n                int
}

func summarize(samples []sample, metric func(sample) float64) stat {
	if len(samples) == 0 {
		return stat{}
	}
	vals := make([]float64, len(samples))
	for i, s := range samples {
		vals[i] = metric(s)
	}
	slices.Sort(vals)
	m := len(vals) / 2
	med := vals[m]
	if len(vals)%2 == 0 {
		med = (vals[m-1] + vals[m]) / 2
	}
	return stat{median: med, min: vals[0], max: vals[len(vals)-1], n: len(vals)}
}

// costRatio is chronicle's median time per unit divided by the baseline's:
// 1.0 means chronicle costs what the raw SQL costs, 2.0 twice as much.
func (r result) costRatio() (float64, bool) { return r.costRatioTo(baselineVariant) }

// costRatioTo is costRatio against another variant.
func (r result) costRatioTo(variant string) (float64, bool) {
	c, b := r.samples[chronicleVariant], r.samples[variant]
	if len(c) == 0 || len(b) == 0 {
		return 0, false
	}
	cm := summarize(c, perUnitMS).median
	bm := summarize(b, perUnitMS).median
	if bm == 0 {
		return 0, false
	}
	return cm / bm, true
}
