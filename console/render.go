package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
)

// pageNames are the templates in templates/, each rendered inside
// layout.html.
var pageNames = []string{"overview", "streams", "stream", "event", "correlation", "tail", "projections",
	"projection", "sagas", "saga", "instance", "login", "error"}

func parsePages(c *Console) (map[string]*template.Template, error) {
	funcs := c.funcs()
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title    string
	Console  string
	Prefix   string
	Nav      string
	CSRF     string
	Admin    bool // signed in with the admin token
	Writable bool // an admin token is configured
	Here     string
	Sections sections
	Data     any
}

type sections struct{ Projections, Sagas, Relays bool }

func (c *Console) render(w http.ResponseWriter, r *http.Request, name, title string, data any) error {
	return c.renderStatus(w, r, http.StatusOK, name, title, data)
}

func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	p := page{
		Title: title, Console: c.cfg.Title, Prefix: c.cfg.Prefix, Nav: name, CSRF: c.csrfToken(w, r),
		Admin: c.isAdmin(r), Writable: c.cfg.AdminToken != "", Here: c.cfg.Prefix + r.URL.RequestURI(),
		Sections: sections{c.cfg.Projections != nil, c.cfg.Sagas != nil, c.cfg.Relays != nil},
		Data:     data,
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	if err != nil {
		return errWritten
	}
	return nil
}

// errWritten: the response is already (partly) written; nothing more to
// tell the client.
var errWritten = errors.New("console: response already written")

// statusError carries the HTTP status of a failure.
type statusError struct {
	status int
	err    error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// badRequest is a 400 with a message about the request's input.
func badRequest(format string, args ...any) error {
	return statusError{http.StatusBadRequest, fmt.Errorf(format, args...)}
}

// failErr maps an error to its status and renders the error page.
func (c *Console) failErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errWritten) {
		return
	}
	var se statusError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &se):
		status = se.status
	case errors.Is(err, ErrNotFound), errors.Is(err, eventstore.ErrStreamNotFound), errors.Is(err, saga.ErrNotFound),
		errors.Is(err, projection.ErrUnknownProjection):
		status = http.StatusNotFound
	case errors.Is(err, ErrUnsupported):
		status = http.StatusNotImplemented
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
		err = fmt.Errorf("the page took longer than %v: %w", c.cfg.Timeout, err)
	case errors.Is(err, eventstore.ErrInvalidArgument), errors.Is(err, eventstore.ErrInvalidStreamID):
		status = http.StatusBadRequest
	}
	if status >= 500 {
		c.cfg.Logger.Error("console: page failed", "path", r.URL.Path, "status", status, "error", err)
	}
	c.fail(w, r, status, err)
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	data := map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": err.Error()}
	if rerr := c.renderStatus(w, r, status, "error", http.StatusText(status), data); rerr != nil && !errors.Is(rerr, errWritten) {
		http.Error(w, err.Error(), status)
	}
}

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		// u builds a link inside the console: u "/stream" "id" .StreamID.
		"u": func(path string, kv ...any) string {
			if len(kv) == 0 {
				return c.cfg.Prefix + path
			}
			q := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				k := fmt.Sprint(kv[i])
				switch v := kv[i+1].(type) {
				case string:
					if v != "" {
						q.Set(k, v)
					}
				default:
					q.Set(k, fmt.Sprint(v))
				}
			}
			if len(q) == 0 {
				return c.cfg.Prefix + path
			}
			return c.cfg.Prefix + path + "?" + q.Encode()
		},
		"pos":      func(p eventstore.Position) string { return p.String() },
		"when":     formatTime,
		"ago":      func(t time.Time) string { return formatAgo(time.Since(t)) },
		"dur":      formatDuration,
		"pretty":   prettyJSON,
		"category": streamCategory,
		"id":       func(id uuid.UUID) string { return id.String() },
		"num":      formatNum,
		"fraction": fraction,
		"along":    along,
		"relayAlong": func(r RelayStatus) float64 {
			if r.LagEvents == 0 && !r.LagAtLeast {
				return 1
			}
			return fraction(r.Position, r.Head)
		},
		"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
		"join":    strings.Join,
		"add":     func(a, b int) int { return a + b },
		"inc":     func(v uint64) uint64 { return v + 1 },
		"dec":     func(v uint64) uint64 { return v - 1 },
		"statuses": func() []saga.Status {
			return []saga.Status{saga.Running, saga.Completed, saga.Compensating, saga.Compensated}
		},
		"count": func(m map[saga.Status]int, s saga.Status) int { return m[s] },
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func formatAgo(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return formatDuration(d) + " ago"
}

func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// formatNum writes n with thousands separators; negative means unknown.
func formatNum(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	case uint64:
		v = int64(x)
	default:
		return fmt.Sprint(n)
	}
	if v < 0 {
		return "?"
	}
	s := strconv.FormatInt(v, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxPretty bounds how much of a payload a page shows.
const maxPretty = 256 << 10

// prettyJSON indents a JSON document for display; anything else is shown
// as it is. The result is text: the template escapes it.
func prettyJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		out.Reset()
		out.Write(b)
	}
	if out.Len() > maxPretty {
		return out.String()[:maxPretty] + "\n… (cut at 256 KiB)"
	}
	return out.String()
}

// streamCategory is the part of a stream ID before its first '-': the
// service in the usual naming ("order-42" → "order").
func streamCategory(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// along is how far a projection is along the log, for its bar: all the
// way when nothing waits for it (a filtered projection's checkpoint is the
// last event it handled, often well before the head).
func along(s projection.Status) float64 {
	if s.LagEvents == 0 && !s.LagAtLeast {
		return 1
	}
	return fraction(s.Checkpoint, s.Head)
}

// fraction is how far p is along the log up to head, by their Prepare
// components (which grow with the log in every store).
func fraction(p, head eventstore.Position) float64 {
	if head.Prepare == 0 || !p.Before(head) {
		return 1
	}
	return min(1, float64(p.Prepare)/float64(head.Prepare))
}
