package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// maxLiveFor bounds one live connection; the browser's EventSource then
// reconnects (with the last event ID, so a tail resumes where it was).
const maxLiveFor = 15 * time.Minute

// sse is a Server-Sent Events response.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE takes a live slot and starts the event stream; it reports false
// (having answered the request) when every slot is taken.
func (c *Console) startSSE(w http.ResponseWriter, r *http.Request) (*sse, context.Context, func(), bool) {
	if !c.acquireLive() {
		c.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("too many live connections (at most %d): close another live page", c.cfg.MaxLive))
		return nil, nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), maxLiveFor)
	stop := context.AfterFunc(c.bg, cancel)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s, ctx, func() { stop(); cancel(); c.releaseLive() }, true
}

// send writes one event whose data is v as JSON; id, if set, is what the
// browser sends back as Last-Event-ID when it reconnects.
func (s *sse) send(event, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		if _, err := fmt.Fprintf(s.w, "id: %s\n", id); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// comment keeps an idle connection open through proxies.
func (s *sse) comment() error {
	if _, err := fmt.Fprint(s.w, ": ping\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// every runs fn now and then every d until ctx ends or fn fails.
func every(ctx context.Context, d time.Duration, fn func() error) error {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := fn(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// liveOverview is what the overview's live stream sends.
type liveOverview struct {
	Head        string           `json:"head"`
	HeadAgo     string           `json:"head_ago"`
	Events      string           `json:"events"`
	Streams     string           `json:"streams"`
	PerSecond   string           `json:"per_second"`
	Bars        []bar            `json:"bars"`
	Projections []liveProjection `json:"projections"`
	Sagas       []liveSaga       `json:"sagas"`
	Relays      []liveRelay      `json:"relays"`
	Error       string           `json:"error,omitempty"`
}

type liveProjection struct {
	Name     string  `json:"name"`
	State    string  `json:"state"`
	Lag      string  `json:"lag"`
	LagTime  string  `json:"lag_time"`
	Fraction float64 `json:"fraction"`
	Position string  `json:"position"`
}

type liveRelay struct {
	Name      string  `json:"name"`
	Fraction  float64 `json:"fraction"`
	Position  string  `json:"position"`
	Lag       string  `json:"lag"`
	LagTime   string  `json:"lag_time"`
	Published string  `json:"published"`
	Parked    string  `json:"parked"`
	LastError string  `json:"last_error"`
}

type liveSaga struct {
	Name   string         `json:"name"`
	Counts map[string]int `json:"counts"`
}

func lagText(n int, atLeast bool) string {
	s := formatNum(n)
	if atLeast {
		s += "+"
	}
	return s
}

func (c *Console) overviewLive(w http.ResponseWriter, r *http.Request) {
	s, ctx, done, ok := c.startSSE(w, r)
	if !ok {
		return
	}
	defer done()
	_ = every(ctx, liveEvery, func() error {
		qctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		d := c.overviewData(qctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		out := liveOverview{Head: d.Stats.Head.String(), Events: formatNum(d.Stats.Events), Streams: formatNum(d.Stats.Streams),
			PerSecond: fmt.Sprintf("%.1f", d.Spark.PerSecond), Bars: d.Spark.Bars, Error: d.StatsErr}
		if !d.Stats.HeadAt.IsZero() {
			out.HeadAgo = formatAgo(time.Since(d.Stats.HeadAt))
		}
		for _, p := range d.Projections {
			out.Projections = append(out.Projections, liveProjection{Name: p.Name, State: string(p.State),
				Lag: lagText(p.LagEvents, p.LagAtLeast), LagTime: formatDuration(p.Lag),
				Fraction: along(p), Position: p.Checkpoint.String()})
		}
		for _, sg := range d.Sagas {
			counts := map[string]int{"parked": sg.Parked, "failing": sg.Failing}
			for k, v := range sg.Counts {
				counts[string(k)] = v
			}
			out.Sagas = append(out.Sagas, liveSaga{Name: sg.Name, Counts: counts})
		}
		for _, r := range d.Relays {
			f := 1.0
			if r.LagEvents > 0 || r.LagAtLeast {
				f = fraction(r.Position, r.Head)
			}
			out.Relays = append(out.Relays, liveRelay{Name: r.Name, Fraction: f, Position: r.Position.String(),
				Lag: lagText(r.LagEvents, r.LagAtLeast), LagTime: formatDuration(r.Lag), Published: formatNum(r.Published),
				Parked: formatNum(r.Parked), LastError: r.LastError})
		}
		return s.send("overview", "", out)
	})
}
