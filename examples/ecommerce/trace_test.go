package main

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/pgtest"
)

// runTraced runs the example with args, with an SDK recording every span
// installed as the global provider (the example's components use it),
// and returns what it recorded.
func runTraced(t *testing.T, args ...string) *telemetrytest.SDK {
	t.Helper()
	sdk := telemetrytest.New(t)
	otel.SetTracerProvider(sdk.TracerProvider)
	t.Cleanup(func() { otel.SetTracerProvider(tracenoop.NewTracerProvider()) })
	o, err := parse(append([]string{"-quiet"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errs := &lockedBuffer{}
	var out strings.Builder
	if code := runOpts(context.Background(), o, &out, errs); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs.String(), out.String())
	}
	return sdk
}

// orderTrace is one order's trace as the spans recorded it.
type orderTrace struct {
	id    trace.TraceID
	spans []sdktrace.ReadOnlySpan
	names []string
}

// findOrder returns the trace of the order placed as orderID: its root is
// the client's "place order" span.
func findOrder(t *testing.T, spans []sdktrace.ReadOnlySpan, orderID string) orderTrace {
	t.Helper()
	var ot orderTrace
	for _, s := range spans {
		if v, ok := telemetrytest.Attr(s, "ecommerce.order_id"); ok && s.Name() == "place order" && v.AsString() == orderID {
			ot.id = s.SpanContext().TraceID()
		}
	}
	if !ot.id.IsValid() {
		t.Fatalf("no place order span for %s", orderID)
	}
	for _, s := range spans {
		if s.SpanContext().TraceID() == ot.id {
			ot.spans = append(ot.spans, s)
			ot.names = append(ot.names, s.Name())
		}
	}
	return ot
}

// checkOrderTrace asserts that order o-00001 — a happy path — is one
// trace from the client's first command to the shipment and the order's
// completion: every step of the saga, every command and append it caused
// in the four services, the relay's publication and the inbox's
// processing across the broker, each span under its cause; and that the
// read models' batches link to it.
func checkOrderTrace(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	const orderID = "o-00001"
	ot := findOrder(t, spans, orderID)
	ids := map[trace.SpanID]bool{}
	for _, s := range ot.spans {
		ids[s.SpanContext().SpanID()] = true
	}
	tree := telemetrytest.Tree(ot.spans)
	for _, s := range ot.spans {
		if s.Name() == "place order" {
			if s.Parent().IsValid() {
				t.Errorf("the root has a parent")
			}
			continue
		}
		if !ids[s.Parent().SpanID()] {
			t.Errorf("span %s has a parent outside the trace's recorded spans:\n%s", s.Name(), tree)
			break
		}
	}
	want := []string{
		"place order", "command order.Place", "aggregate.load order", "aggregate.save order", "eventstore.append",
		"saga fulfilment", "send ReserveStock", "command inventory.Reserve", "send ChargePayment", "command payment.Charge",
		"send ConfirmOrder", "send RequestOrderShipment", "process ", "send ", "command logistics.Create",
		"saga carriers", "send CompleteOrder", "command order.Complete",
	}
	joined := "\n" + strings.Join(ot.names, "\n") + "\n"
	for _, w := range want {
		if !strings.Contains(joined, "\n"+w) {
			t.Errorf("the order's trace has no span %q", w)
		}
	}
	// Every step of the order's saga instance is in the order's trace.
	for _, s := range spans {
		inst, ok := telemetrytest.Attr(s, "chronicle.saga.instance")
		if ok && inst.AsString() == orderID && s.SpanContext().TraceID() != ot.id {
			t.Errorf("span %s of the order's saga instance is in another trace", s.Name())
		}
	}
	// The read models' batches are traces of their own, linked to the
	// order's appends.
	linked := map[string]bool{}
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "projection ") {
			continue
		}
		if s.Parent().IsValid() {
			t.Errorf("projection batch %s has a parent", s.Name())
		}
		for _, l := range s.Links() {
			if l.SpanContext.TraceID() == ot.id {
				linked[s.Name()] = true
			}
		}
	}
	if len(linked) < 2 {
		t.Errorf("projection batches linked to the order's trace: %v", slices.Sorted(func(yield func(string) bool) {
			for k := range linked {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("the order's trace (%d spans):\n%s", len(ot.spans), tree)
	}
}

func TestOrderTraceInMemory(t *testing.T) {
	sdk := runTraced(t, "-orders", "8", "-seed", "3", "-out-of-stock", "0", "-declined", "0", "-abandoned", "0", "-undeliverable", "0")
	checkOrderTrace(t, sdk.Ended(""))
}

func TestOrderTraceOnPostgres(t *testing.T) {
	pgtest.Require(t)
	schema := pgtest.Schema(t)
	sdk := runTraced(t, "-postgres", pgtest.URL(), "-schema", schema, "-fresh", "-orders", "8", "-seed", "3",
		"-out-of-stock", "0", "-declined", "0", "-abandoned", "0", "-undeliverable", "0")
	checkOrderTrace(t, sdk.Ended(""))
	_ = os.Stderr
}
