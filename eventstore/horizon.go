package eventstore

import (
	"context"
	"fmt"
	"time"
)

// Horizon says how far a store's global log can be read now. In most
// stores every committed event can be: Head is Tip. The PostgreSQL store
// reads only below the oldest transaction still running anywhere in the
// cluster (so that no event can later commit behind a reader), so a
// long-running transaction holds its Head below Tip until it ends.
type Horizon struct {
	// Tip is the position of the last committed event, whether readers can
	// reach it yet or not; the zero Position for an empty log.
	Tip Position
	// Head is the position of the last event ReadAll and Subscribe reach
	// now.
	Head Position
	// Holder is the transaction that holds Head below Tip; nil when Head is
	// Tip (or the holder ended as it was looked up).
	Holder *HorizonHolder
}

// Held reports whether committed events wait beyond Head.
func (h Horizon) Held() bool { return h.Head.Before(h.Tip) }

// HorizonHolder describes a transaction that holds a store's horizon back.
type HorizonHolder struct {
	// PID is the server process running it (pg_stat_activity.pid); 0 for a
	// prepared transaction.
	PID int32
	// Database is the database it runs in: any database of the cluster
	// holds the horizon back, not only the store's.
	Database string
	// TransactionID is its transaction ID as the server shows it
	// (pg_stat_activity.backend_xid).
	TransactionID uint64
	// Application is its application_name; State its state (for example
	// "idle in transaction"); Since when it started.
	Application string
	State       string
	Since       time.Time
}

func (h HorizonHolder) String() string {
	s := fmt.Sprintf("transaction %d (pid %d, database %q", h.TransactionID, h.PID, h.Database)
	if h.Application != "" {
		s += fmt.Sprintf(", application %q", h.Application)
	}
	if h.State != "" {
		s += ", " + h.State
	}
	if !h.Since.IsZero() {
		s += fmt.Sprintf(", running since %s", h.Since.UTC().Format(time.RFC3339))
	}
	return s + ")"
}

// HorizonReader is an optional capability of a [Store] whose reads stop at
// a horizon below its last committed event (the PostgreSQL store). A reader
// that must cover the log up to a given point — a projection's rebuild, up
// to the log's end when it started — takes [Horizon.Tip] as that point and
// waits, reading, until it has passed it, showing [Horizon.Holder] while it
// waits. Stores without a horizon need not implement it: for them Tip is
// the last event ReadAll yields.
type HorizonReader interface {
	Horizon(ctx context.Context) (Horizon, error)
}
