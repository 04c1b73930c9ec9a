package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// Append implements [eventstore.Store].
//
// The expected version maps onto the server's expected stream state:
// [eventstore.Any] to Any{}, [eventstore.NoStream] and Exact(0) to
// NoStream{}, [eventstore.StreamExists] to StreamExists{} and Exact(n) to
// Revision(n-1), since chronicle's versions are 1-based and the server's
// revisions 0-based. A wrong expected version becomes an
// [*eventstore.ConflictError] whose Actual is read from the stream right
// after the refusal.
//
// After a successful append the store reads the appended events back (one
// more round trip) to return their $all positions and to check that the
// server stored these very event IDs; see the package documentation for how
// the server's idempotency differs from chronicle's contract.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.CheckExpected(stream, expected); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.limits.CheckAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	name := s.serverStream(stream)
	if strings.HasPrefix(name, "$") {
		return eventstore.AppendResult{}, &eventstore.InvalidAppendError{Stream: stream, Index: -1, Err: eventstore.ErrInvalidStreamID,
			Reason: `stream IDs starting with "$" are EventStoreDB system streams`}
	}
	data := make([]kurrentdb.EventData, len(events))
	ids := make([]uuid.UUID, len(events))
	size := 0
	for i, e := range events {
		if strings.HasPrefix(e.Type, "$") {
			return eventstore.AppendResult{}, &eventstore.InvalidAppendError{Stream: stream, Index: i, Err: eventstore.ErrInvalidEvent,
				Reason: fmt.Sprintf(`type %q: types starting with "$" are EventStoreDB system events`, e.Type)}
		}
		if e.ID == uuid.Nil {
			e.ID = eventstore.NewEventID()
		}
		d, err := toEventData(e)
		if err != nil {
			return eventstore.AppendResult{}, &eventstore.InvalidAppendError{Stream: stream, Index: i, Err: eventstore.ErrInvalidEvent,
				Reason: fmt.Sprintf("metadata: %v", err)}
		}
		data[i], ids[i] = d, e.ID
		size += len(d.Data) + len(d.Metadata) + len(d.EventType)
	}
	if size > s.maxAppendSize {
		return eventstore.AppendResult{}, &eventstore.InvalidAppendError{Stream: stream, Index: -1, Err: eventstore.ErrEventTooLarge,
			Reason: fmt.Sprintf("%d bytes in one append, over the server's maximum append size of %d", size, s.maxAppendSize)}
	}

	c, err := s.conn()
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	op := fmt.Sprintf("append to %q", stream)
	wr, err := c.AppendToStream(ctx, name, kurrentdb.AppendToStreamOptions{StreamState: toStreamState(expected)}, data...)
	if err != nil {
		if code, ok := clientCode(err); ok && code == kurrentdb.ErrorCodeWrongExpectedVersion && ctx.Err() == nil {
			return s.conflict(ctx, c, stream, expected, ids)
		}
		if mayBeStored(ctx, err) {
			return eventstore.AppendResult{}, &eventstore.OutcomeUnknownError{Stream: stream, Expected: expected, EventIDs: ids,
				Err: s.mapError(context.WithoutCancel(ctx), c, op, err)}
		}
		return eventstore.AppendResult{}, s.mapError(ctx, c, op, err)
	}
	last := wr.NextExpectedVersion + 1
	n := uint64(len(ids))
	if last < n {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: %s: the server reported revision %d after appending %d events", op, wr.NextExpectedVersion, n)
	}
	stored, err := s.readRange(ctx, c, name, last-n+1, n)
	if err != nil {
		return eventstore.AppendResult{}, s.mapError(ctx, c, op+": read back", err)
	}
	res, ok := matchRun(stored, ids)
	if !ok {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: %s: the server reported success at version %d, but versions %d to %d do not hold the appended event IDs",
			op, last, last-n+1, last)
	}
	if n == 1 && res.Positions[0].IsZero() {
		// Older servers send no positions on stream reads; the write's own
		// position is the event's when the append holds one event.
		res.Positions[0] = fromPosition(kurrentdb.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition})
	}
	return res, nil
}

// mayBeStored reports whether an append that failed with err may have been
// stored all the same: the whole request reached the server, and its answer
// was lost (the context ended, the connection dropped, the client's own
// deadline passed). The client sends an append as a stream of messages and
// the server writes only once the stream is complete; the client's errors
// say where it failed: while connecting ("discovery"), or before the
// request was complete ("could not construct append operation", "could not
// send append request"), nothing was stored. An answer the server gave (a
// refusal) is final. The server keeps no session this store could wait
// for, as the PostgreSQL store does, so the outcome stays unknown: the
// caller retries with the same event IDs, which the server deduplicates.
func mayBeStored(ctx context.Context, err error) bool {
	msg := err.Error()
	if strings.Contains(msg, "could not construct append operation") || strings.Contains(msg, "could not send append request") ||
		strings.Contains(msg, "discovery") {
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	code, ok := clientCode(err)
	if !ok {
		return true
	}
	switch code {
	case kurrentdb.ErrorUnavailable, kurrentdb.ErrorCodeConnectionClosed, kurrentdb.ErrorCodeDeadlineExceeded,
		kurrentdb.ErrorAborted, kurrentdb.ErrorCodeUnknown, kurrentdb.ErrorCodeInternalServer:
		return true
	}
	return false
}

// toStreamState maps chronicle's expected version onto the server's.
func toStreamState(expected eventstore.ExpectedVersion) kurrentdb.StreamState {
	switch e := expected.(type) {
	case eventstore.AnyVersion:
		return kurrentdb.Any{}
	case eventstore.NoStreamVersion:
		return kurrentdb.NoStream{}
	case eventstore.StreamExistsVersion:
		return kurrentdb.StreamExists{}
	case eventstore.ExactVersion:
		if e == 0 {
			return kurrentdb.NoStream{}
		}
		return kurrentdb.Revision(uint64(e) - 1)
	}
	panic(fmt.Sprintf("esdb: unknown expected version %T", expected)) // the set is closed
}

// conflict builds the error for a wrong expected version, unless the
// append is a retry of events already stored right after the expected
// version, which then succeeds with the original result.
func (s *Store) conflict(ctx context.Context, c *kurrentdb.Client, stream string, expected eventstore.ExpectedVersion, ids []uuid.UUID) (eventstore.AppendResult, error) {
	op := fmt.Sprintf("append to %q", stream)
	name := s.serverStream(stream)
	current, err := s.currentVersion(ctx, c, name)
	if err != nil {
		return eventstore.AppendResult{}, s.mapError(ctx, c, op+": read the current version", err)
	}
	ce := &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: current}
	var stored []eventstore.RecordedEvent
	switch e := expected.(type) {
	case eventstore.NoStreamVersion, eventstore.ExactVersion:
		// A retry starts right after the expected version.
		start := uint64(1)
		if v, ok := e.(eventstore.ExactVersion); ok {
			start = uint64(v) + 1
		}
		if current < start {
			return eventstore.AppendResult{}, ce
		}
		if stored, err = s.readRange(ctx, c, name, start, uint64(len(ids))); err != nil {
			return eventstore.AppendResult{}, s.mapError(ctx, c, op+": read the stored events", err)
		}
		if res, ok := matchRun(stored, ids); ok {
			return res, nil
		}
	default:
		// Any and StreamExists fail only when the server found some of the
		// IDs in the stream but not as one retry (or, for StreamExists, no
		// stream): look for them in the whole stream.
		if current == 0 {
			return eventstore.AppendResult{}, ce
		}
		if stored, err = s.readRange(ctx, c, name, 1, current); err != nil {
			return eventstore.AppendResult{}, s.mapError(ctx, c, op+": read the stored events", err)
		}
	}
	for _, id := range ids {
		if j := slices.IndexFunc(stored, func(e eventstore.RecordedEvent) bool { return e.ID == id }); j >= 0 {
			ce.EventID = id
			ce.Reason = fmt.Sprintf("already stored as version %d, and the append is not a retry of the events stored there", stored[j].Version)
			break
		}
	}
	return eventstore.AppendResult{}, ce
}

// matchRun reports whether stored holds exactly the events ids, in order,
// and returns the result of the append that stored them.
func matchRun(stored []eventstore.RecordedEvent, ids []uuid.UUID) (eventstore.AppendResult, bool) {
	if len(stored) != len(ids) {
		return eventstore.AppendResult{}, false
	}
	res := eventstore.AppendResult{Positions: make([]eventstore.Position, len(ids))}
	for i, e := range stored {
		if e.ID != ids[i] {
			return eventstore.AppendResult{}, false
		}
		res.Positions[i] = e.Position
	}
	res.Version = stored[len(stored)-1].Version
	return res, true
}

// currentVersion returns the version of the last event of the server
// stream name, 0 when it has none.
func (s *Store) currentVersion(ctx context.Context, c *kurrentdb.Client, name string) (uint64, error) {
	rs, err := c.ReadStream(ctx, name, kurrentdb.ReadStreamOptions{Direction: kurrentdb.Backwards, From: kurrentdb.End{}}, 1)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	switch {
	case isNotFound(err), errors.Is(err, io.EOF):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return ev.OriginalEvent().EventNumber + 1, nil
}

// readRange reads up to n events of the server stream name from version
// from (1-based). Their StreamID is the server's name.
func (s *Store) readRange(ctx context.Context, c *kurrentdb.Client, name string, from, n uint64) ([]eventstore.RecordedEvent, error) {
	rs, err := c.ReadStream(ctx, name, kurrentdb.ReadStreamOptions{From: kurrentdb.Revision(from - 1)}, n)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]eventstore.RecordedEvent, 0, n)
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if isNotFound(err) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, fromRecorded(ev.OriginalEvent()))
	}
}
