package postgres

import (
	"testing"
	"time"
)

// TestNextNotifyPause: while nobody listens, the notifier's pauses double
// from the interval up to quietNotifyPause; a wake-up that was sent (or
// failed) brings them back to the interval; an interval above the cap is
// kept.
func TestNextNotifyPause(t *testing.T) {
	const ms = time.Millisecond
	pause := 10 * ms
	var got []time.Duration
	for range 9 {
		pause = nextNotifyPause(pause, 10*ms, true)
		got = append(got, pause)
	}
	want := []time.Duration{20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pauses while nobody listens: %v, want %v", got, want)
		}
	}
	if p := nextNotifyPause(time.Second, 10*ms, false); p != 10*ms {
		t.Fatalf("after a sent wake-up: %v, want the interval", p)
	}
	if p := nextNotifyPause(5*time.Second, 5*time.Second, true); p != 5*time.Second {
		t.Fatalf("interval above the cap: %v, want 5s", p)
	}
}
