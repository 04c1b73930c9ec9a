package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jitter is how a pause is drawn below its nominal value.
type Jitter uint8

const (
	// Equal draws from [max(Min, nominal/2), nominal]: the first pause is
	// Min, and a pause never drops below Min.
	Equal Jitter = iota
	// Full draws from (0, nominal].
	Full
)

// Backoff is a growing pause between attempts: nominally Min after the
// first failure, doubled after each further one, at most Max, and drawn at
// random below that per Jitter. The zero value of Jitter is [Equal]. A
// Backoff counts the pauses it handed out; it is not safe for concurrent
// use.
type Backoff struct {
	Min, Max time.Duration
	Jitter   Jitter
	n        int
}

// Next returns the pause before the next attempt and counts it.
func (b *Backoff) Next() time.Duration {
	b.n++
	return b.Jitter.Delay(b.Min, b.Max, b.n)
}

// Reset starts the count over: the next pause is the first one again.
func (b *Backoff) Reset() { b.n = 0 }

// Nominal returns the pause after n consecutive failures (n ≥ 1) before
// jitter: first doubled n-1 times, at most most (most below first counts
// as first). It is zero when first is not positive.
func Nominal(first, most time.Duration, n int) time.Duration {
	if first <= 0 {
		return 0
	}
	most = max(most, first)
	d := first
	for i := 1; i < n && d < most; i++ {
		if d > most/2 {
			return most
		}
		d *= 2
	}
	return d
}

// Delay returns the pause after n consecutive failures (n ≥ 1) between
// first and most: the [Nominal] pause with j's jitter.
func (j Jitter) Delay(first, most time.Duration, n int) time.Duration {
	d := Nominal(first, most, n)
	if d <= 0 {
		return 0
	}
	lo := time.Duration(1)
	if j == Equal {
		lo = max(first, d/2)
	}
	if lo >= d {
		return d
	}
	return lo + rand.N(d-lo+1)
}

// Sleep waits for d or until ctx ends; it reports whether d passed (false:
// ctx ended first, or had already).
func Sleep(ctx context.Context, d time.Duration) bool {
	return Wait(ctx, d, nil)
}

// Wait waits for d, or until ctx ends or stop is closed (a nil stop never
// is); it reports whether d passed.
func Wait(ctx context.Context, d time.Duration, stop <-chan struct{}) bool {
	if ctx.Err() != nil {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}
