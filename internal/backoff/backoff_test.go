package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/internal/backoff"
)

func TestNominalDoublesUpToMax(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		min, max time.Duration
		n        int
		want     time.Duration
	}{
		{100 * ms, 10 * time.Second, 1, 100 * ms},
		{100 * ms, 10 * time.Second, 2, 200 * ms},
		{100 * ms, 10 * time.Second, 4, 800 * ms},
		{100 * ms, 10 * time.Second, 8, 10 * time.Second},
		{100 * ms, 10 * time.Second, 1000, 10 * time.Second},
		{100 * ms, 300 * ms, 3, 300 * ms},
		{100 * ms, 0, 5, 100 * ms}, // max below min counts as min
		{0, time.Second, 3, 0},
		{time.Duration(1) << 61, time.Duration(1<<63 - 1), 10, time.Duration(1<<63 - 1)}, // no overflow
	} {
		if got := backoff.Nominal(c.min, c.max, c.n); got != c.want {
			t.Errorf("Nominal(%v, %v, %d) = %v, want %v", c.min, c.max, c.n, got, c.want)
		}
	}
}

// The configured bounds keep their meaning: Equal pauses lie in
// [max(Min, nominal/2), nominal] (the first is Min), Full ones in
// (0, nominal]; none exceeds Max; and they do vary.
func TestDelayStaysWithinTheBounds(t *testing.T) {
	first, most := 10*time.Millisecond, 200*time.Millisecond
	for _, j := range []backoff.Jitter{backoff.Equal, backoff.Full} {
		b := backoff.Backoff{Min: first, Max: most, Jitter: j}
		seen := map[int]map[time.Duration]bool{}
		for round := range 200 {
			b.Reset()
			for n := 1; n <= 8; n++ {
				d := b.Next()
				nominal := backoff.Nominal(first, most, n)
				lo := time.Duration(1)
				if j == backoff.Equal {
					lo = max(first, nominal/2)
				}
				if d < lo || d > nominal || d > most {
					t.Fatalf("jitter %d round %d attempt %d: pause %v outside [%v, %v]", j, round, n, d, lo, nominal)
				}
				if j == backoff.Equal && n == 1 && d != first {
					t.Fatalf("the first Equal pause is %v, want Min %v", d, first)
				}
				if seen[n] == nil {
					seen[n] = map[time.Duration]bool{}
				}
				seen[n][d] = true
			}
		}
		for n := 2; n <= 8; n++ {
			if len(seen[n]) < 10 {
				t.Errorf("jitter %d attempt %d: only %d distinct pauses in 200 rounds", j, n, len(seen[n]))
			}
		}
	}
}

func TestWaitEndsEarly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if backoff.Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on an ended context reported the pause passed")
	}
	stop := make(chan struct{})
	close(stop)
	if backoff.Wait(context.Background(), time.Hour, stop) {
		t.Fatal("Wait with a closed stop reported the pause passed")
	}
	if !backoff.Wait(context.Background(), time.Millisecond, nil) {
		t.Fatal("a short Wait did not pass")
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(time.Millisecond); cancel2() }()
	if backoff.Sleep(ctx2, time.Hour) {
		t.Fatal("Sleep outlived its context")
	}
}
