package console

import (
	"context"
	"net/http"

	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// tailScan bounds how far back the tail page looks for its first rows
// when filtering.
const tailScan = 5000

type tailData struct {
	Prefix, Type string
	Events       []eventstore.RecordedEvent
	// From is the position the live stream starts after.
	From string
}

func tailFilter(r *http.Request) (eventstore.Filter, string, string, error) {
	prefix, err := input(r, "prefix")
	if err != nil {
		return eventstore.Filter{}, "", "", err
	}
	typ, err := input(r, "type")
	if err != nil {
		return eventstore.Filter{}, "", "", err
	}
	var f eventstore.Filter
	if prefix != "" {
		f.StreamPrefixes = []string{prefix}
	}
	if typ != "" {
		f.EventTypes = []string{typ}
	}
	return f, prefix, typ, nil
}

// tail shows the most recent events, then follows the log live (live.js
// opens /tail/live from the position the page ends at).
func (c *Console) tail(w http.ResponseWriter, r *http.Request) error {
	f, prefix, typ, err := tailFilter(r)
	if err != nil {
		return err
	}
	d := tailData{Prefix: prefix, Type: typ}
	limit := c.pageSize(r)
	var head eventstore.Position
	for e, err := range c.cfg.Events.ReadAll(r.Context(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: tailScan}) {
		if err != nil {
			return err
		}
		if head.IsZero() {
			head = e.Position
		}
		if f.Match(e.StreamID, e.Type) {
			d.Events = append(d.Events, e)
			if len(d.Events) >= limit {
				break
			}
		}
	}
	d.From = head.String()
	return c.render(w, r, "tail", "Live tail", d)
}

// tailEvent is one event on the live tail.
type tailEvent struct {
	Position    string `json:"position"`
	Stream      string `json:"stream"`
	Version     uint64 `json:"version"`
	Type        string `json:"type"`
	ID          string `json:"id"`
	RecordedAt  string `json:"recorded_at"`
	Correlation string `json:"correlation"`
	EventURL    string `json:"event_url"`
	StreamURL   string `json:"stream_url"`
	CorrURL     string `json:"correlation_url,omitempty"`
}

// tailBatch bounds the events one live message carries; tailFlush is how
// often a message goes out while events arrive.
const (
	tailBatch = 200
	tailFlush = 200 * time.Millisecond
)

func (c *Console) tailLive(w http.ResponseWriter, r *http.Request) {
	f, _, _, err := tailFilter(r)
	if err != nil {
		c.failErr(w, r, err)
		return
	}
	from := r.FormValue("from")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		from = id
	}
	var start eventstore.Position
	if from != "" {
		if start, err = eventstore.ParsePosition(from); err != nil {
			c.failErr(w, r, badRequest("from: %v", err))
			return
		}
	} else if st, err := c.cfg.Index.Stats(r.Context()); err == nil {
		start = st.Head
	}
	s, ctx, done, ok := c.startSSE(w, r)
	if !ok {
		return
	}
	defer done()
	events := make(chan eventstore.RecordedEvent, tailBatch)
	errc := make(chan error, 1)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(events)
		for e, err := range c.cfg.Events.Subscribe(subCtx, eventstore.SubscribeOptions{From: start, Filter: f}) {
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- e:
			case <-subCtx.Done():
				return
			}
		}
	}()
	t := time.NewTicker(tailFlush)
	defer t.Stop()
	idle := 0
	var batch []tailEvent
	last := ""
	for {
		select {
		case e, ok := <-events:
			if !ok {
				select {
				case err := <-errc:
					_ = s.send("failure", "", map[string]string{"error": err.Error()})
				default:
				}
				return
			}
			batch = append(batch, c.tailEvent(e))
			last = e.Position.String()
			if len(batch) < tailBatch {
				continue
			}
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if len(batch) == 0 {
			if idle++; idle%75 == 0 { // every 15s
				if s.comment() != nil {
					return
				}
			}
			continue
		}
		if s.send("events", last, batch) != nil {
			return
		}
		batch, idle = batch[:0], 0
	}
}

func (c *Console) tailEvent(e eventstore.RecordedEvent) tailEvent {
	p := c.cfg.Prefix
	t := tailEvent{Position: e.Position.String(), Stream: e.StreamID, Version: e.Version, Type: e.Type, ID: e.ID.String(),
		RecordedAt: formatTime(e.RecordedAt), Correlation: e.Metadata.CorrelationID,
		EventURL:  p + "/event?id=" + e.ID.String(),
		StreamURL: p + "/stream?id=" + urlQueryEscape(e.StreamID)}
	if e.Metadata.CorrelationID != "" {
		t.CorrURL = p + "/correlation?id=" + urlQueryEscape(e.Metadata.CorrelationID)
	}
	return t
}
