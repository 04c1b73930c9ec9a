package console

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

func (c *Console) needSagas() error {
	if c.cfg.Sagas == nil {
		return statusError{http.StatusNotFound, errors.New("this console was given no sagas")}
	}
	return nil
}

func (c *Console) sagas(w http.ResponseWriter, r *http.Request) error {
	if err := c.needSagas(); err != nil {
		return err
	}
	ss, err := c.cfg.Sagas.Summaries(r.Context())
	if err != nil {
		return err
	}
	return c.render(w, r, "sagas", "Sagas", ss)
}

type sagaData struct {
	Name      string
	CanRetry  bool
	Done      string
	Status    saga.Status
	After     string
	Instances []saga.Instance
	Next      string
	Parked    []saga.Parked
	Failing   []saga.Command
}

// sagaPage lists one saga's instances, filtered by status, a page at a
// time, with its parked events and failing commands.
func (c *Console) sagaPage(w http.ResponseWriter, r *http.Request) error {
	if err := c.needSagas(); err != nil {
		return err
	}
	name, err := input(r, "name")
	if err != nil {
		return err
	}
	after, err := input(r, "after")
	if err != nil {
		return err
	}
	status := saga.Status(r.FormValue("status"))
	if status != "" && !status.Valid() {
		return badRequest("status must be running, completed, compensating or compensated")
	}
	limit := c.pageSize(r)
	ctx := r.Context()
	rt, canRetry := c.cfg.Sagas.(SagaRetrier)
	canRetry = canRetry && rt.CanRetryParked(name)
	d := sagaData{Name: name, Status: status, After: after, CanRetry: canRetry, Done: sagaDone[r.FormValue("done")]}
	if d.Instances, err = c.cfg.Sagas.Instances(ctx, name, saga.Query{Status: status, After: after, Limit: limit + 1}); err != nil {
		return err
	}
	if len(d.Instances) > limit {
		d.Instances = d.Instances[:limit]
		d.Next = d.Instances[limit-1].ID
	}
	if d.Parked, err = c.cfg.Sagas.Parked(ctx, name); err != nil {
		return err
	}
	if d.Failing, err = c.cfg.Sagas.FailingCommands(ctx, name); err != nil {
		return err
	}
	if len(d.Parked) > MaxPageSize {
		d.Parked = d.Parked[:MaxPageSize]
	}
	return c.render(w, r, "saga", "Saga "+name, d)
}

// sagaDone are the confirmations a retry redirects with (fixed texts,
// never request input).
var sagaDone = map[string]string{
	"retry": "The parked event was handled: it left the parked list.",
	"again": "The parked event failed again and is parked again, with its new error below.",
}

// sagaRetry retries a parked event through the application's engine.
func (c *Console) sagaRetry(w http.ResponseWriter, r *http.Request) error {
	if err := c.needSagas(); err != nil {
		return err
	}
	name, err := input(r, "name")
	if err != nil {
		return err
	}
	rt, ok := c.cfg.Sagas.(SagaRetrier)
	if !ok || !rt.CanRetryParked(name) {
		return statusError{http.StatusNotImplemented, errors.New("retrying a parked event runs the saga's code: serve the console from the application, with its engines")}
	}
	id, err := uuid.Parse(r.FormValue("event"))
	if err != nil {
		return badRequest("event is not an event ID")
	}
	done := "retry"
	switch err := rt.RetryParked(r.Context(), name, id); {
	case errors.Is(err, saga.ErrParkedAgain):
		done = "again"
	case errors.Is(err, saga.ErrNotParked):
		return statusError{http.StatusConflict, err}
	case err != nil:
		return err
	}
	c.cfg.Logger.Info("console: saga parked event retried", "saga", name, "event", id, "outcome", done, "remote", r.RemoteAddr)
	http.Redirect(w, r, c.cfg.Prefix+"/saga?name="+urlQueryEscape(name)+"&done="+done, http.StatusSeeOther)
	return nil
}

// moment is one line of an instance's timeline.
type moment struct {
	At      time.Time
	Kind    string // event, ignored, parked, deadline, status, command, compensation, sent, due
	Title   string
	Detail  string
	EventID uuid.UUID
	Pos     eventstore.Position
	Command *saga.Command
	Future  bool
}

type instanceData struct {
	H        saga.History
	State    string
	Timeline []moment
}

func (c *Console) sagaInstance(w http.ResponseWriter, r *http.Request) error {
	if err := c.needSagas(); err != nil {
		return err
	}
	name, err := input(r, "saga")
	if err != nil {
		return err
	}
	id, err := input(r, "id")
	if err != nil {
		return err
	}
	h, err := c.cfg.Sagas.History(r.Context(), name, id)
	if err != nil {
		return err
	}
	d := instanceData{H: h, State: prettyJSON(h.Instance.State), Timeline: timeline(h)}
	return c.render(w, r, "instance", "Saga "+name+" "+id, d)
}

// timeline merges an instance's history, outbox and deadlines into one
// list in time order: events received and what they decided, commands
// queued and sent, compensations, deadlines fired and pending.
func timeline(h saga.History) []moment {
	var out []moment
	for _, e := range h.Entries {
		m := moment{At: e.At, Detail: e.Detail, EventID: e.EventID, Pos: e.Position, Title: e.EventType}
		switch e.Kind {
		case saga.EventHandled:
			m.Kind = "event"
		case saga.EventIgnored:
			m.Kind = "ignored"
		case saga.EventParked:
			m.Kind = "parked"
		case saga.DeadlineFired, saga.DeadlineIgnored:
			m.Kind, m.Title = "deadline", "deadline fired"
			if e.Kind == saga.DeadlineIgnored {
				m.Title = "deadline fired after the end"
			}
		case saga.StatusChanged:
			m.Kind, m.Title, m.Detail = "status", e.Detail, ""
		default:
			m.Kind = string(e.Kind)
		}
		out = append(out, m)
	}
	for i := range h.Commands {
		cmd := &h.Commands[i]
		kind := "command"
		if cmd.Compensation {
			kind = "compensation"
		}
		out = append(out, moment{At: cmd.CreatedAt, Kind: kind, Title: cmd.Type, Command: cmd})
		if cmd.Sent() {
			out = append(out, moment{At: cmd.SentAt, Kind: "sent", Title: cmd.Type, Command: cmd})
		}
		if !cmd.Sent() && cmd.LastError != "" {
			out = append(out, moment{At: cmd.NextAttempt, Kind: "retry", Title: cmd.Type, Command: cmd, Future: true})
		}
	}
	for _, dl := range h.Deadlines {
		out = append(out, moment{At: dl.DueAt, Kind: "due", Title: dl.Name, Future: true})
	}
	slices.SortStableFunc(out, func(a, b moment) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}
