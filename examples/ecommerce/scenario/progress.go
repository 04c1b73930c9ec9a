package scenario

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress rewrites one line on a terminal with the orders ended and the
// rate; with a nil writer it does nothing.
type progress struct {
	w     io.Writer
	n     int
	start time.Time
	mu    sync.Mutex
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, n int) *progress {
	return &progress{w: w, n: n, start: time.Now()}
}

func (p *progress) update(done int) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	// \033[K erases what a longer earlier line left to the right.
	fmt.Fprintf(p.w, "\r%d/%d orders ended  %.0f orders/s  %s\033[K", done, p.n, rate, now.Sub(p.start).Round(100*time.Millisecond))
}

// stop clears the line.
func (p *progress) stop() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	p.w = nil
}
