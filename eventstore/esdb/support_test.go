package esdb

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

// waitLimit bounds waits for events that must arrive, so a broken store
// fails instead of hanging the test; it is not a performance assertion.
const waitLimit = 30 * time.Second

func contextFor(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), waitLimit)
}

func numberedEvents(typ string, n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i] = eventstore.NewEvent(typ, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	return out
}

func collect(t *testing.T, seq iter.Seq2[eventstore.RecordedEvent, error]) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	for e, err := range seq {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func versionsOf(evs []eventstore.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Version
	}
	return out
}

func positionsOf(evs []eventstore.RecordedEvent) []eventstore.Position {
	out := make([]eventstore.Position, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

func idsOf(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func idsOfEvents(evs []eventstore.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// ticks formats t as the server's "created" metadata: 100ns ticks since the
// Unix epoch.
func ticks(t time.Time) string {
	return strconv.FormatInt(t.UnixNano()/100, 10)
}

// jsonOfSize returns a JSON string of n bytes.
func jsonOfSize(n int) []byte {
	return []byte(`"` + strings.Repeat("x", n-2) + `"`)
}
