package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/projection"
)

func (c *Console) needProjections() error {
	if c.cfg.Projections == nil {
		return statusError{http.StatusNotFound, errors.New("this console was given no projections")}
	}
	return nil
}

type projectionsData struct {
	Projections []projection.Status
	Jobs        map[string]Progress
}

func (c *Console) projections(w http.ResponseWriter, r *http.Request) error {
	if err := c.needProjections(); err != nil {
		return err
	}
	ps, err := c.cfg.Projections.Status(r.Context())
	if err != nil {
		return err
	}
	return c.render(w, r, "projections", "Projections", projectionsData{Projections: ps, Jobs: c.jobSnapshot()})
}

type projectionData struct {
	P    projection.Status
	Job  *Progress
	Done string
}

// doneMessages are the confirmations an action redirects with; only these
// fixed texts are ever shown, never request input.
var doneMessages = map[string]string{
	"retry":   "Retry requested: the projection's owner tries the event again within its poll interval.",
	"skip":    "Event skipped: the projection's owner resumes after it within its poll interval.",
	"rebuild": "Rebuild started.",
}

func (c *Console) findProjection(ctx context.Context, name string) (projection.Status, error) {
	ps, err := c.cfg.Projections.Status(ctx)
	if err != nil {
		return projection.Status{}, err
	}
	i := slices.IndexFunc(ps, func(p projection.Status) bool { return p.Name == name })
	if i < 0 {
		return projection.Status{}, fmt.Errorf("projection %q: %w", name, projection.ErrUnknownProjection)
	}
	return ps[i], nil
}

func (c *Console) projectionPage(w http.ResponseWriter, r *http.Request) error {
	if err := c.needProjections(); err != nil {
		return err
	}
	name, err := input(r, "name")
	if err != nil {
		return err
	}
	p, err := c.findProjection(r.Context(), name)
	if err != nil {
		return err
	}
	d := projectionData{P: p, Done: doneMessages[r.FormValue("done")]}
	if j, ok := c.jobSnapshot()[name]; ok {
		d.Job = &j
	}
	return c.render(w, r, "projection", "Projection "+name, d)
}

// resume is the retry and skip actions.
func (c *Console) resume(w http.ResponseWriter, r *http.Request, action string, fn func(context.Context, string) error) error {
	if err := c.needProjections(); err != nil {
		return err
	}
	name, err := input(r, "name")
	if err != nil {
		return err
	}
	if err := fn(r.Context(), name); err != nil {
		if errors.Is(err, projection.ErrNotFailed) {
			return statusError{http.StatusConflict, err}
		}
		return err
	}
	c.cfg.Logger.Info("console: projection "+action, "projection", name, "remote", r.RemoteAddr)
	http.Redirect(w, r, c.cfg.Prefix+"/projection?name="+urlQueryEscape(name)+"&done="+action, http.StatusSeeOther)
	return nil
}

func (c *Console) projectionRetry(w http.ResponseWriter, r *http.Request) error {
	return c.resume(w, r, "retry", c.cfg.Projections.Retry)
}

func (c *Console) projectionSkip(w http.ResponseWriter, r *http.Request) error {
	return c.resume(w, r, "skip", c.cfg.Projections.Skip)
}

// Progress is a rebuild started from the console, as its page shows it.
type Progress struct {
	projection.Progress
	Started  time.Time
	Finished time.Time
	Err      string
	// Fraction is how far the replay is along the log (0 to 1).
	Fraction float64
}

type rebuildJob struct {
	mu sync.Mutex
	p  Progress
}

func (j *rebuildJob) get() Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.p
}

func (c *Console) jobSnapshot() map[string]Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Progress, len(c.jobs))
	for name, j := range c.jobs {
		out[name] = j.get()
	}
	return out
}

// projectionRebuild starts a rebuild in the background and sends the
// browser to the projection's page, which follows its progress live.
func (c *Console) projectionRebuild(w http.ResponseWriter, r *http.Request) error {
	if err := c.needProjections(); err != nil {
		return err
	}
	name, err := input(r, "name")
	if err != nil {
		return err
	}
	if _, err := c.findProjection(r.Context(), name); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return statusError{http.StatusServiceUnavailable, errors.New("the console is closing")}
	}
	if j := c.jobs[name]; j != nil && j.get().Finished.IsZero() {
		c.mu.Unlock()
		return statusError{http.StatusConflict, fmt.Errorf("projection %q is already rebuilding", name)}
	}
	job := &rebuildJob{p: Progress{Started: time.Now(), Progress: projection.Progress{Projection: name}}}
	c.jobs[name] = job
	c.wg.Add(1)
	c.mu.Unlock()
	c.cfg.Logger.Info("console: projection rebuild", "projection", name, "remote", r.RemoteAddr)
	go func() {
		defer c.wg.Done()
		err := c.cfg.Projections.Rebuild(c.bg, name, projection.RebuildOptions{
			Every: 250 * time.Millisecond,
			Progress: func(p projection.Progress) {
				job.mu.Lock()
				job.p.Progress = p
				job.p.Fraction = fraction(p.Position, p.Head)
				if p.Done {
					job.p.Fraction = 1
				}
				job.mu.Unlock()
			},
		})
		job.mu.Lock()
		job.p.Finished = time.Now()
		if err != nil {
			job.p.Err = err.Error()
			c.cfg.Logger.Warn("console: rebuild failed", "projection", name, "error", err)
		}
		job.mu.Unlock()
	}()
	http.Redirect(w, r, c.cfg.Prefix+"/projection?name="+urlQueryEscape(name)+"&done=rebuild", http.StatusSeeOther)
	return nil
}

// liveProjectionStatus is what a projection page's live stream sends.
type liveProjectionStatus struct {
	State    string       `json:"state"`
	Position string       `json:"position"`
	Head     string       `json:"head"`
	Lag      string       `json:"lag"`
	LagTime  string       `json:"lag_time"`
	Handled  string       `json:"handled"`
	Fraction float64      `json:"fraction"`
	Error    string       `json:"error,omitempty"`
	Rebuild  *liveRebuild `json:"rebuild,omitempty"`
}

type liveRebuild struct {
	Events   string  `json:"events"`
	Rate     string  `json:"rate"`
	Fraction float64 `json:"fraction"`
	Percent  string  `json:"percent"`
	ETA      string  `json:"eta"`
	Elapsed  string  `json:"elapsed"`
	Done     bool    `json:"done"`
	Error    string  `json:"error,omitempty"`
	Waiting  string  `json:"waiting,omitempty"`
}

func (c *Console) projectionLive(w http.ResponseWriter, r *http.Request) {
	if err := c.needProjections(); err != nil {
		c.failErr(w, r, err)
		return
	}
	name, err := input(r, "name")
	if err != nil {
		c.failErr(w, r, err)
		return
	}
	s, ctx, done, ok := c.startSSE(w, r)
	if !ok {
		return
	}
	defer done()
	_ = every(ctx, time.Second/2, func() error {
		var out liveProjectionStatus
		if j, ok := c.jobSnapshot()[name]; ok {
			rb := &liveRebuild{Events: formatNum(j.Events), Rate: fmt.Sprintf("%.0f", j.Rate), Fraction: j.Fraction,
				Percent: fmt.Sprintf("%.0f%%", j.Fraction*100), ETA: formatDuration(j.ETA), Elapsed: formatDuration(time.Since(j.Started)),
				Done: !j.Finished.IsZero(), Error: j.Err}
			if j.Waiting && !rb.Done {
				rb.Waiting = "a transaction still running in the cluster"
				if j.Holder != nil {
					rb.Waiting = j.Holder.String()
				}
			}
			if rb.Done {
				rb.Elapsed = formatDuration(j.Finished.Sub(j.Started))
				if j.Err == "" {
					rb.Fraction, rb.Percent = 1, "100%"
				}
			}
			out.Rebuild = rb
		}
		qctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		p, err := c.findProjection(qctx, name)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			out.Error = err.Error()
		} else {
			out.State, out.Position, out.Head = string(p.State), p.Checkpoint.String(), p.Head.String()
			out.Lag, out.LagTime, out.Handled = lagText(p.LagEvents, p.LagAtLeast), formatDuration(p.Lag), formatNum(p.Handled)
			out.Fraction = along(p)
		}
		return s.send("status", "", out)
	})
}
