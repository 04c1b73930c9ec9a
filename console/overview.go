package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/chronicle-go/chronicle/projection"
)

// overviewData is the overview page, and each update its live stream
// sends.
type overviewData struct {
	Stats       LogStats
	Spark       sparkline
	StatsErr    string
	Projections []projection.Status
	ProjErr     string
	Sagas       []SagaSummary
	SagasErr    string
	Relays      []RelayStatus
	RelaysErr   string
}

// liveEvery is how often live pages are updated.
const liveEvery = 2 * time.Second

func (c *Console) overview(w http.ResponseWriter, r *http.Request) error {
	d := c.overviewData(r.Context())
	return c.render(w, r, "overview", "Overview", d)
}

// overviewData gathers the overview's sections at once; a failing section
// shows its error, the others still render. Results are shared between
// requests for a second, so many open overviews cost one set of queries.
func (c *Console) overviewData(ctx context.Context) overviewData {
	return c.stats.get(ctx, c.cfg.CacheFor, func(ctx context.Context) overviewData {
		var d overviewData
		var wg sync.WaitGroup
		wg.Go(func() {
			st, err := c.cfg.Index.Stats(ctx)
			if err != nil {
				d.StatsErr = err.Error()
				return
			}
			d.Stats, d.Spark = st, newSparkline(st)
		})
		if c.cfg.Projections != nil {
			wg.Go(func() {
				ps, err := c.cfg.Projections.Status(ctx)
				d.Projections, d.ProjErr = ps, errText(err)
			})
		}
		if c.cfg.Sagas != nil {
			wg.Go(func() {
				ss, err := c.cfg.Sagas.Summaries(ctx)
				d.Sagas, d.SagasErr = ss, errText(err)
			})
		}
		if c.cfg.Relays != nil {
			wg.Go(func() {
				rs, err := c.cfg.Relays.Relays(ctx)
				d.Relays, d.RelaysErr = rs, errText(err)
			})
		}
		wg.Wait()
		return d
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sparkline is the SVG bar chart of the recent rate.
type sparkline struct {
	Bars []bar
	// PerSecond is the rate over the last complete bucket.
	PerSecond float64
	Max       int
	Window    string
}

type bar struct {
	X, Y, W, H int
	Known      bool
	Title      string
}

// sparkline geometry, in SVG user units.
const (
	sparkWidth  = 300
	sparkHeight = 40
)

func newSparkline(st LogStats) sparkline {
	s := sparkline{Window: formatWindow(time.Duration(len(st.Rate)) * st.BucketWidth)}
	for _, b := range st.Rate {
		s.Max = max(s.Max, b.Events)
	}
	n := len(st.Rate)
	if n == 0 {
		return s
	}
	w := sparkWidth / n
	for i, b := range st.Rate {
		h := 0
		if s.Max > 0 {
			h = max(b.Events*(sparkHeight-2)/s.Max, min(b.Events, 1))
		}
		title := fmt.Sprintf("%s: %d events", b.Start.UTC().Format("15:04:05"), b.Events)
		if !b.Known {
			h, title = sparkHeight-2, fmt.Sprintf("%s: at least %d events (older than the sample)", b.Start.UTC().Format("15:04:05"), b.Events)
		}
		s.Bars = append(s.Bars, bar{X: i * w, Y: sparkHeight - h, W: max(w-1, 1), H: h, Known: b.Known, Title: title})
	}
	if n >= 2 && st.Rate[n-2].Known {
		s.PerSecond = float64(st.Rate[n-2].Events) / st.BucketWidth.Seconds()
	}
	return s
}

// formatWindow names a window: "5 minutes", "90 seconds".
func formatWindow(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		if d == time.Minute {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return fmt.Sprintf("%d seconds", int(d/time.Second))
}

// cached shares one computed value between requests for a short time.
type cached[T any] struct {
	mu  sync.Mutex
	at  time.Time
	val T
}

func (c *cached[T]) get(ctx context.Context, ttl time.Duration, compute func(context.Context) T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl > 0 && !c.at.IsZero() && time.Since(c.at) < ttl {
		return c.val
	}
	c.val, c.at = compute(ctx), time.Now()
	return c.val
}
