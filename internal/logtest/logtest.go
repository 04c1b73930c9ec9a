// Package logtest is a slog handler for tests that tell which path a
// component took by what it logged.
package logtest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// Recorder is a slog handler that keeps each message, followed by ": " and
// its "error" attribute when it has one. It is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	lines []string
}

// Logger returns a logger writing to r.
func (r *Recorder) Logger() *slog.Logger { return slog.New(r) }

func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *Recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *Recorder) WithGroup(string) slog.Handler            { return r }

func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			line += ": " + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return nil
}

// Since returns the lines logged after the first n, and how many have been
// logged in all.
func (r *Recorder) Since(n int) ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines[min(n, len(r.lines)):]), len(r.lines)
}
