package telemetry

import (
	"context"
	"encoding/hex"
	"reflect"

	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
)

// The metadata keys of the W3C trace context an event was appended in:
// the same names as the HTTP headers and the broker's message attributes
// (broker.MetadataTraceParent).
const (
	MetadataTraceParent = "traceparent"
	MetadataTraceState  = "tracestate"
)

// noSpan is the type of what trace.SpanFromContext returns for a context
// without a span (an empty struct, whose span context is never valid).
// Comparing a span's type with it costs a quarter of copying out and
// checking the span context, on every append of a process without an SDK
// (and half of comparing the interface values, which calls the type's
// equality function).
var noSpan = reflect.TypeOf(trace.SpanFromContext(context.Background()))

// spanless reports whether ctx holds no span: no trace context to stamp.
func spanless(ctx context.Context) bool {
	return reflect.TypeOf(trace.SpanFromContext(ctx)) == noSpan
}

// Stamp returns events with the span context of ctx in their metadata
// (W3C traceparent and tracestate), replacing any they carried. Without a
// valid span context it returns events itself: nothing is copied or
// allocated. The caller's events and their metadata maps are never
// changed.
func Stamp(ctx context.Context, events []eventstore.Event) []eventstore.Event {
	if off.Load() {
		return events
	}
	if len(events) == 0 {
		return events
	}
	if spanless(ctx) {
		return events // the common case without an SDK
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return events
	}
	tp, ts := Format(sc)
	out := make([]eventstore.Event, len(events))
	for i, e := range events {
		md := e.Metadata.Clone()
		if md.Values == nil {
			md.Values = make(map[string]string, 2)
		}
		md.Values[MetadataTraceParent] = tp
		if ts != "" {
			md.Values[MetadataTraceState] = ts
		} else {
			delete(md.Values, MetadataTraceState)
		}
		e.Metadata = md
		out[i] = e
	}
	return out
}

// Format returns sc as a W3C traceparent header value and its trace state;
// "" for an invalid sc.
func Format(sc trace.SpanContext) (traceparent, tracestate string) {
	if !sc.IsValid() {
		return "", ""
	}
	var b [55]byte
	b[0], b[1], b[2] = '0', '0', '-'
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags())})
	return string(b[:]), sc.TraceState().String()
}

// Parse reads a W3C traceparent (and its tracestate) into a remote span
// context; an invalid or empty traceparent gives an invalid one. A
// tracestate that does not parse is dropped, as the W3C specification asks.
func Parse(traceparent, tracestate string) trace.SpanContext {
	// version "-" trace-id "-" parent-id "-" trace-flags; a later version
	// may append fields after a further "-".
	if len(traceparent) < 55 || traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-' {
		return trace.SpanContext{}
	}
	if len(traceparent) > 55 && (traceparent[55] != '-' || traceparent[:2] == "00") {
		return trace.SpanContext{}
	}
	var version [1]byte
	if _, err := hex.Decode(version[:], []byte(traceparent[:2])); err != nil || version[0] == 0xff {
		return trace.SpanContext{}
	}
	tid, err := trace.TraceIDFromHex(traceparent[3:35])
	if err != nil {
		return trace.SpanContext{}
	}
	sid, err := trace.SpanIDFromHex(traceparent[36:52])
	if err != nil {
		return trace.SpanContext{}
	}
	var flags [1]byte
	if _, err := hex.Decode(flags[:], []byte(traceparent[53:55])); err != nil {
		return trace.SpanContext{}
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled, Remote: true}
	if tracestate != "" {
		if ts, err := trace.ParseTraceState(tracestate); err == nil {
			cfg.TraceState = ts
		}
	}
	return trace.NewSpanContext(cfg)
}

// FromMetadata returns the span context an event was appended in, as
// [Stamp] stored it; invalid if it has none.
func FromMetadata(md eventstore.Metadata) trace.SpanContext {
	tp := md.Get(MetadataTraceParent)
	if tp == "" {
		return trace.SpanContext{}
	}
	return Parse(tp, md.Get(MetadataTraceState))
}

// ContextWith returns ctx carrying the remote span context of traceparent
// and tracestate as the parent of the spans started from it; ctx itself
// when traceparent is empty or invalid.
func ContextWith(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	sc := Parse(traceparent, tracestate)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// ContextFromEvent is [ContextWith] the trace context in e's metadata.
func ContextFromEvent(ctx context.Context, e eventstore.RecordedEvent) context.Context {
	return ContextWith(ctx, e.Metadata.Get(MetadataTraceParent), e.Metadata.Get(MetadataTraceState))
}

// Current returns the trace context of ctx as traceparent and tracestate,
// "" when it has none.
func Current(ctx context.Context) (traceparent, tracestate string) {
	return Format(trace.SpanContextFromContext(ctx))
}
