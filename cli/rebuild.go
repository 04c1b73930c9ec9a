package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/chronicle-go/chronicle/projection"
)

func runProjectionsRebuild(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("projections rebuild", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("projections rebuild", rest, 1, 1, "NAME"); err != nil {
		return err
	}
	name := rest[0]
	if err := projection.ValidateName(name); err != nil {
		return usagef("%v", err)
	}
	if a.opts.Projections == nil {
		return usagef("projections rebuild needs the projection's code, which this binary does not have: " +
			"run it from your application's binary, which embeds these commands with cli.Main and Options.Projections (see docs/cli.md)")
	}
	p, err := a.projections(ctx)
	if err != nil {
		return err
	}
	bar := newProgress(a.stderr, name)
	var last projection.Progress
	err = p.runner.Rebuild(ctx, name, projection.RebuildOptions{
		Every: time.Second,
		Progress: func(pr projection.Progress) {
			last = pr
			bar.report(pr)
		},
	})
	bar.end()
	if err != nil {
		return fmt.Errorf("rebuild %q: %w", name, err)
	}
	if a.g.json {
		return writeJSON(a.stdout, struct {
			Projection      string  `json:"projection"`
			Events          uint64  `json:"events"`
			Seconds         float64 `json:"seconds"`
			EventsPerSecond float64 `json:"events_per_second"`
			Position        string  `json:"position"`
		}{name, last.Events, last.Elapsed.Seconds(), last.Rate, last.Position.String()})
	}
	fmt.Fprintf(a.stdout, "rebuilt %s: %d events in %s (%.0f events/s), checkpoint %s\n",
		name, last.Events, formatDuration(last.Elapsed), last.Rate, formatPosition(last.Position))
	return nil
}

// progress shows a rebuild's advance: a bar redrawn in place on a terminal,
// sized to its width, or a plain line per report (once a second)
// otherwise.
type progress struct {
	w        io.Writer
	name     string
	terminal bool
	cols     int // the terminal's width
	drawn    bool
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name, terminal: isTerminal(w), cols: 80}
	if f, ok := w.(*os.File); ok && p.terminal {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			p.cols = cols
		}
	}
	return p
}

// isTerminal reports whether v (stdin, stdout or stderr) is a terminal: a
// pipe, a file, /dev/null or a buffer is not.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) report(pr projection.Progress) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s", progressFit(pr, p.cols))
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, progressLine(p.name, pr))
}

func (p *progress) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// progressFit renders the bar for a terminal cols wide: one column short
// of it (a full line would wrap on some terminals), padded with spaces so
// that a shorter redraw leaves nothing of the longer one behind.
func progressFit(pr projection.Progress, cols int) string {
	room := cols - 1
	text := len([]rune(progressBar(pr, 0))) // the line with an empty bar
	bar := min(room-text, 30)
	var line string
	if bar >= 5 {
		line = progressBar(pr, bar)
	} else {
		line = strings.TrimLeft(progressBar(pr, 0), "[] ")
	}
	if r := []rune(line); len(r) > room {
		line = string(r[:max(room, 0)])
	}
	return line + strings.Repeat(" ", max(room-len([]rune(line)), 0))
}

// fraction is how far pr.Position is between the start of the log and
// pr.Head, by their Prepare components (see [projection.Progress]).
func fraction(pr projection.Progress) float64 {
	if pr.Done || pr.Head.Prepare == 0 {
		return 1
	}
	return min(1, float64(pr.Position.Prepare)/float64(pr.Head.Prepare))
}

// progressBar renders "[#####.....]  45%  12345 events  3456 ev/s  ETA 12s".
func progressBar(pr projection.Progress, width int) string {
	f := fraction(pr)
	filled := int(f * float64(width))
	eta := "ETA " + formatDuration(pr.ETA)
	switch {
	case pr.Done:
		eta = "done in " + formatDuration(pr.Elapsed)
	case pr.Waiting:
		eta = waitingFor(pr)
	}
	return fmt.Sprintf("[%s%s] %3.0f%%  %d events  %.0f ev/s  %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), f*100, pr.Events, pr.Rate, eta)
}

// waitingFor says what a rebuild waits for.
func waitingFor(pr projection.Progress) string {
	if pr.Holder != nil {
		return "waiting for " + pr.Holder.String() + " to end"
	}
	return "waiting for the store's horizon"
}

// progressLine renders one plain line for logs and pipes.
func progressLine(name string, pr projection.Progress) string {
	if pr.Waiting {
		return fmt.Sprintf("rebuild %s: %d events, position %s of %s; %s", name, pr.Events,
			formatPosition(pr.Position), formatPosition(pr.Head), waitingFor(pr))
	}
	if pr.Done {
		return fmt.Sprintf("rebuild %s: done, %d events in %s (%.0f events/s)", name, pr.Events, formatDuration(pr.Elapsed), pr.Rate)
	}
	return fmt.Sprintf("rebuild %s: %.0f%%, %d events, %.0f events/s, position %s of %s, ETA %s",
		name, fraction(pr)*100, pr.Events, pr.Rate, formatPosition(pr.Position), formatPosition(pr.Head), formatDuration(pr.ETA))
}
