package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// maxInput bounds any identifier taken from a request (stream IDs,
// prefixes, correlation IDs): longer input is refused, never queried.
const maxInput = 1024

func input(r *http.Request, name string) (string, error) {
	v := r.FormValue(name)
	if len(v) > maxInput {
		return "", badRequest("%s is longer than %d bytes", name, maxInput)
	}
	if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
		return "", badRequest("%s holds a NUL byte or is not UTF-8", name)
	}
	return v, nil
}

func (c *Console) pageSize(r *http.Request) int {
	if n, err := strconv.Atoi(r.FormValue("limit")); err == nil && n > 0 {
		return min(n, MaxPageSize)
	}
	return c.cfg.PageSize
}

type streamsData struct {
	Prefix, After string
	Streams       []StreamInfo
	Next          string
	Unsupported   string
}

func (c *Console) streams(w http.ResponseWriter, r *http.Request) error {
	prefix, err := input(r, "prefix")
	if err != nil {
		return err
	}
	after, err := input(r, "after")
	if err != nil {
		return err
	}
	limit := c.pageSize(r)
	d := streamsData{Prefix: prefix, After: after}
	list, err := c.cfg.Index.Streams(r.Context(), StreamQuery{Prefix: prefix, After: after, Limit: limit + 1})
	switch {
	case errors.Is(err, ErrUnsupported):
		d.Unsupported = err.Error()
	case err != nil:
		return err
	}
	if len(list) > limit {
		list = list[:limit]
		d.Next = list[limit-1].ID
	}
	d.Streams = list
	return c.render(w, r, "streams", "Streams", d)
}

type streamData struct {
	ID     string
	Events []eventstore.RecordedEvent
	// Newer and Older are the versions the neighbouring pages start at,
	// reading backwards (0: no such page).
	Newer, Older uint64
}

// stream shows one stream's events, newest first, a page at a time: from
// is the newest version on the page (0: the stream's last).
func (c *Console) stream(w http.ResponseWriter, r *http.Request) error {
	id, err := input(r, "id")
	if err != nil {
		return err
	}
	if id == "" {
		return badRequest("which stream? pass id")
	}
	from, _ := strconv.ParseUint(r.FormValue("from"), 10, 64)
	limit := c.pageSize(r)
	d := streamData{ID: id}
	opts := eventstore.ReadStreamOptions{From: from, Limit: limit + 1, Direction: eventstore.Backwards}
	for e, err := range c.cfg.Events.ReadStream(r.Context(), id, opts) {
		if err != nil {
			return err
		}
		d.Events = append(d.Events, e)
	}
	if len(d.Events) > limit {
		d.Events = d.Events[:limit]
		d.Older = d.Events[limit-1].Version - 1
	}
	if from != 0 && len(d.Events) > 0 {
		d.Newer = d.Events[0].Version + uint64(limit)
	}
	return c.render(w, r, "stream", "Stream "+id, d)
}

// search sends a query to the page that answers it: an event ID to the
// event, a stream ID to the stream, otherwise a correlation ID or a stream
// prefix.
func (c *Console) search(w http.ResponseWriter, r *http.Request) error {
	q, err := input(r, "q")
	if err != nil {
		return err
	}
	q = strings.TrimSpace(q)
	u := func(path, k, v string) string { return c.cfg.Prefix + path + "?" + k + "=" + urlQueryEscape(v) }
	if q == "" {
		http.Redirect(w, r, c.cfg.Prefix+"/streams", http.StatusSeeOther)
		return nil
	}
	if id, err := uuid.Parse(q); err == nil {
		if _, err := c.cfg.Index.Event(r.Context(), id); err == nil {
			http.Redirect(w, r, u("/event", "id", id.String()), http.StatusSeeOther)
			return nil
		}
	}
	for _, err := range c.cfg.Events.ReadStream(r.Context(), q, eventstore.ReadStreamOptions{Limit: 1}) {
		if err == nil {
			http.Redirect(w, r, u("/stream", "id", q), http.StatusSeeOther)
			return nil
		}
		break
	}
	if f, err := c.cfg.Index.Correlated(r.Context(), q, 1); err == nil && len(f.Events) > 0 {
		http.Redirect(w, r, u("/correlation", "id", q), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, u("/streams", "prefix", q), http.StatusSeeOther)
	return nil
}
