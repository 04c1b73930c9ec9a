package projection

import (
	"context"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// ContinueTrace returns ctx with the trace context e was appended in (the
// W3C traceparent in its metadata) as the parent of the spans started
// from it, so that work a handler does on the event's behalf — sending a
// command, appending to another stream — continues the event's trace
// rather than the batch's. Without a trace context in e, it returns ctx.
//
// A projection's batch is not a child of its events' traces (it holds
// many and commits once: see docs/observability.md); a handler that acts
// for one event calls ContinueTrace.
func ContinueTrace(ctx context.Context, e eventstore.RecordedEvent) context.Context {
	return telemetry.ContextFromEvent(ctx, e)
}
