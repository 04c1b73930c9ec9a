package eventstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

// The suite uses only the standard library, so that every backend can run
// it without pulling in anything but the contract.

func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...) + ": "
	}
	return fmt.Sprint(msgAndArgs...) + ": "
}

func noErr(t testing.TB, err error, msgAndArgs ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%sunexpected error: %v", describe(msgAndArgs), err)
	}
}

func isTrue(t testing.TB, cond bool, msgAndArgs ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("%sassertion failed", describe(msgAndArgs))
	}
}

func equal(t testing.TB, want, got any, msgAndArgs ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%swant %v\n got %v", describe(msgAndArgs), want, got)
	}
}

func errIs(t testing.TB, err, target error, msgAndArgs ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%swant an error matching %q (errors.Is), got %v", describe(msgAndArgs), target, err)
	}
}

func errIsNot(t testing.TB, err, target error, msgAndArgs ...any) {
	t.Helper()
	if errors.Is(err, target) {
		t.Fatalf("%swant an error not matching %q (errors.Is), got %v", describe(msgAndArgs), target, err)
	}
}

func errAs[E error](t testing.TB, err error, msgAndArgs ...any) E {
	t.Helper()
	e, ok := errors.AsType[E](err)
	if !ok {
		t.Fatalf("%swant an error of type %T (errors.As), got %T: %v", describe(msgAndArgs), e, err, err)
	}
	return e
}

// event returns an event of type typ with a fresh ID and data as payload.
func event(typ, data string) eventstore.Event {
	return eventstore.Event{ID: eventstore.NewEventID(), Type: typ, Data: []byte(data)}
}

// numbered returns n events of type typ whose payloads are {"n": first+i}.
func numbered(typ string, first, n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i] = event(typ, fmt.Sprintf(`{"n":%d}`, first+i))
	}
	return out
}

func ids(events []eventstore.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func recordedIDs(events []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func versions(events []eventstore.RecordedEvent) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.Version
	}
	return out
}

func positions(events []eventstore.RecordedEvent) []eventstore.Position {
	out := make([]eventstore.Position, len(events))
	for i, e := range events {
		out[i] = e.Position
	}
	return out
}

// seq returns from, from±1, ..., to.
func seq(from, to uint64) []uint64 {
	out := []uint64{}
	if from <= to {
		for v := from; v <= to; v++ {
			out = append(out, v)
		}
	} else {
		for v := from; ; v-- {
			out = append(out, v)
			if v == to {
				break
			}
		}
	}
	return out
}

// collect ranges over a read to its end, returning the events before the
// first error and that error.
func collect(events iter.Seq2[eventstore.RecordedEvent, error]) ([]eventstore.RecordedEvent, error) {
	out := []eventstore.RecordedEvent{}
	for e, err := range events {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// readStream reads a stream, failing t on any error.
func readStream(t testing.TB, s eventstore.Store, stream string, opts eventstore.ReadStreamOptions) []eventstore.RecordedEvent {
	t.Helper()
	out, err := collect(s.ReadStream(t.Context(), stream, opts))
	noErr(t, err, "ReadStream(%q, %+v)", stream, opts)
	return out
}

// readAll reads the global log, failing t on any error.
// It first waits until the log shows every append the suite made (see
// tracked).
func readAll(t testing.TB, s eventstore.Store, opts eventstore.ReadAllOptions) []eventstore.RecordedEvent {
	t.Helper()
	settle(t, s)
	out, err := collect(s.ReadAll(t.Context(), opts))
	noErr(t, err, "ReadAll(%+v)", opts)
	return out
}

// appendOK appends and fails t on error, checking the result's shape.
func appendOK(t testing.TB, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, events...)
	noErr(t, err, "Append(%q, %v, %d events)", stream, expected, len(events))
	equal(t, len(events), len(res.Positions), "len(AppendResult.Positions) of Append(%q, %v)", stream, expected)
	requireIncreasing(t, res.Positions)
	return res
}

func requireIncreasing(t testing.TB, ps []eventstore.Position) {
	t.Helper()
	for i := 1; i < len(ps); i++ {
		isTrue(t, ps[i-1].Before(ps[i]), "positions not strictly increasing: %v then %v", ps[i-1], ps[i])
	}
}

// streamVersion returns stream's current version, 0 when it has no events.
func streamVersion(t testing.TB, s eventstore.Store, stream string) uint64 {
	t.Helper()
	evs, err := collect(s.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, Limit: 1}))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return 0
	}
	noErr(t, err, "ReadStream(%q) backwards", stream)
	equal(t, 1, len(evs), "ReadStream(%q) backwards, limit 1", stream)
	return evs[0].Version
}

// requireStreamMissing checks that stream has no events: ReadStream yields
// exactly one *StreamNotFoundError naming it.
func requireStreamMissing(t testing.TB, s eventstore.Store, stream string) {
	t.Helper()
	evs, err := collect(s.ReadStream(t.Context(), stream, eventstore.ReadStreamOptions{}))
	equal(t, 0, len(evs), "events in stream %q, which must have none", stream)
	requireNotFound(t, err, stream)
}

func requireNotFound(t testing.TB, err error, stream string) {
	t.Helper()
	errIs(t, err, eventstore.ErrStreamNotFound, "reading missing stream %q", stream)
	nf := errAs[*eventstore.StreamNotFoundError](t, err)
	equal(t, stream, nf.Stream, "StreamNotFoundError.Stream")
}

// requireConflict checks a version conflict with both errors.Is and
// errors.As, and returns the *ConflictError.
func requireConflict(t testing.TB, err error, stream string, expected eventstore.ExpectedVersion, actual uint64) *eventstore.ConflictError {
	t.Helper()
	errIs(t, err, eventstore.ErrConcurrencyConflict, "append to %q with %v", stream, expected)
	errIsNot(t, err, eventstore.ErrDuplicateEventID, "a version conflict is not a duplicate event ID")
	ce := errAs[*eventstore.ConflictError](t, err)
	equal(t, stream, ce.Stream, "ConflictError.Stream")
	equal(t, expected, ce.Expected, "ConflictError.Expected")
	equal(t, actual, ce.Actual, "ConflictError.Actual")
	equal(t, uuid.Nil, ce.EventID, "ConflictError.EventID of a version conflict")
	isTrue(t, eventstore.IsRetryable(err), "a version conflict must be retryable: %v", err)
	return ce
}

// requireDuplicate checks an event ID conflict: a *ConflictError matching
// both ErrConcurrencyConflict and ErrDuplicateEventID, with EventID one of
// the append's IDs, and not retryable.
func requireDuplicate(t testing.TB, err error, stream string, expected eventstore.ExpectedVersion, actual uint64, appended []uuid.UUID) {
	t.Helper()
	errIs(t, err, eventstore.ErrConcurrencyConflict, "append to %q with %v reusing stored event IDs", stream, expected)
	errIs(t, err, eventstore.ErrDuplicateEventID, "append to %q with %v reusing stored event IDs", stream, expected)
	ce := errAs[*eventstore.ConflictError](t, err)
	equal(t, stream, ce.Stream, "ConflictError.Stream")
	equal(t, expected, ce.Expected, "ConflictError.Expected")
	equal(t, actual, ce.Actual, "ConflictError.Actual")
	isTrue(t, slices.Contains(appended, ce.EventID), "ConflictError.EventID %s is not one of the append's IDs %v", ce.EventID, appended)
	isTrue(t, !eventstore.IsRetryable(err), "an event ID conflict must not be retryable: %v", err)
}

// requireInvalid checks an *InvalidAppendError wrapping sentinel.
func requireInvalid(t testing.TB, err error, sentinel error, stream string, index int) {
	t.Helper()
	errIs(t, err, sentinel)
	ie := errAs[*eventstore.InvalidAppendError](t, err)
	equal(t, stream, ie.Stream, "InvalidAppendError.Stream")
	equal(t, index, ie.Index, "InvalidAppendError.Index")
	errIsNot(t, err, eventstore.ErrConcurrencyConflict, "bad input is not a conflict")
	isTrue(t, !eventstore.IsRetryable(err), "bad input must not be retryable: %v", err)
}

// requirePayload checks that a payload reads back byte for byte: the same
// bytes, so the same size, whatever the JSON holds (an empty payload reads
// back empty, nil or not).
func requirePayload(t testing.TB, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	if !bytes.Equal(want, got) {
		w, g := want, got
		if len(w) > 200 {
			w = w[:200]
		}
		if len(g) > 200 {
			g = g[:200]
		}
		t.Fatalf("%spayloads differ (%d bytes written, %d read):\nwant %s\n got %s", describe(msgAndArgs), len(want), len(got), w, g)
	}
}

// requireSameEvent checks that a read event is the appended one.
func requireSameEvent(t testing.TB, want eventstore.Event, got eventstore.RecordedEvent) {
	t.Helper()
	equal(t, want.ID, got.ID, "event ID")
	equal(t, want.Type, got.Type, "type of event %s", want.ID)
	requirePayload(t, want.Data, got.Data, "payload of event %s", want.ID)
	requireMetadataEqual(t, want.Metadata, got.Metadata)
}

func requireMetadataEqual(t testing.TB, want, got eventstore.Metadata) {
	t.Helper()
	equal(t, want.CorrelationID, got.CorrelationID, "Metadata.CorrelationID")
	equal(t, want.CausationID, got.CausationID, "Metadata.CausationID")
	equal(t, want.SchemaVersion, got.SchemaVersion, "Metadata.SchemaVersion")
	equal(t, len(want.Values), len(got.Values), "len(Metadata.Values): want %q, got %q", want.Values, got.Values)
	for k, v := range want.Values {
		gv, ok := got.Values[k]
		isTrue(t, ok, "metadata key %q missing: got %q", k, got.Values)
		equal(t, v, gv, "metadata value of %q", k)
	}
}

// errorList collects errors from goroutines under a lock; the test's own
// goroutine reads it once they are done.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) addf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

// check fails t with the first few errors, so one broken run does not print
// thousands of lines.
func (l *errorList) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		return
	}
	errs := l.errs
	if len(errs) > 10 {
		errs = append(errs[:10:10], fmt.Errorf("... and %d more", len(l.errs)-10))
	}
	t.Fatal(errors.Join(errs...))
}

// waitCtx returns a context that ends after the suite's timeout, for waits
// that must end.
func (s *suite) waitCtx(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), s.opts.Timeout)
}
