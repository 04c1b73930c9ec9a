package saga

import (
	"context"
	"time"
)

// Backlog is what a saga has still to do: its unsent commands and its due
// deadlines. The engine reports it as metrics (see docs/observability.md).
type Backlog struct {
	// Pending counts the outbox commands not sent yet; Oldest is when the
	// oldest of them was queued (zero when none is).
	Pending int
	Oldest  time.Time
	// DeadlinesDue counts the deadlines due at the time asked about that
	// have not fired yet.
	DeadlinesDue int
}

// BacklogReader is an optional capability of a [Store] (of its [Outbox]):
// reading a saga's [Backlog] cheaply. [saga/memory] and [saga/postgres] implement it; the
// engine's outbox and deadline gauges need it.
type BacklogReader interface {
	Backlog(ctx context.Context, saga string, now time.Time) (Backlog, error)
}
