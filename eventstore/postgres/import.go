package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ImportResult is what [Store.Import] returns.
type ImportResult struct {
	// Events is how many events were imported.
	Events int
	// Streams maps each stream touched to its version after the import.
	Streams map[string]uint64
}

// Import brings events from an existing log in, with PostgreSQL's COPY
// protocol (pgx CopyFrom) instead of one insert per append: for migrating
// from another store, or restoring an export. Each event's StreamID, Version
// and Event are used (and RecordedAt, when set; otherwise the time of the
// import); Position is ignored: imported events get new positions, in the
// order given.
//
// Imports are version-checked like appends: within the batch each stream's
// versions must be contiguous and ascending, and its first version must be
// the stream's current version + 1 (1 for a new stream). Otherwise Import
// returns a [*eventstore.ConflictError] (Expected is [eventstore.Exact] of
// the version the batch assumed) and writes nothing. Every event is checked
// against [Config.Limits]; an event ID already stored, or given twice, is a
// [*eventstore.ConflictError] with EventID set. Zero IDs get a UUID v7.
//
// The events are checked as their rows stream into COPY: an event refused
// part-way stops the COPY, and the batch writes nothing.
//
// A batch is one transaction: all of it or nothing. Split a large log into
// batches of, say, 10,000 to 100,000 events; a batch holds the horizon while
// it runs, so live subscribers wait for it.
func (s *Store) Import(ctx context.Context, events []eventstore.RecordedEvent) (ImportResult, error) {
	if err := ctx.Err(); err != nil {
		return ImportResult{}, err
	}
	if s.isClosed() {
		return ImportResult{}, eventstore.ErrClosed
	}
	if len(events) == 0 {
		return ImportResult{}, &eventstore.InvalidAppendError{Index: -1, Err: eventstore.ErrEmptyAppend}
	}
	if err := s.requireSchema(ctx, s.pool); err != nil {
		return ImportResult{}, err
	}
	// Before the transaction, what decides its locks and its version
	// check: each stream's first and last version in the batch, and that
	// they are contiguous. The rest of the validation (limits, payloads,
	// metadata, event IDs) runs while the rows stream into COPY (see
	// importSource): the server ingests one part of the batch while the
	// client checks the next, instead of waiting for all of it.
	first := map[string]uint64{} // each stream's first version in the batch
	last := map[string]uint64{}
	for i := range events {
		e := &events[i]
		if prev, ok := last[e.StreamID]; ok {
			if e.Version != prev+1 {
				return ImportResult{}, &eventstore.ConflictError{Stream: e.StreamID, Expected: eventstore.Exact(prev), Actual: prev,
					Reason: fmt.Sprintf("import event %d has version %d; the batch's versions of a stream must be contiguous", i, e.Version)}
			}
		} else {
			if err := s.cfg.Limits.CheckStreamID(e.StreamID); err != nil {
				var inv *eventstore.InvalidAppendError
				if errors.As(err, &inv) {
					inv.Index = i
				}
				return ImportResult{}, err
			}
			if e.Version == 0 || e.Version > 1<<62 {
				return ImportResult{}, &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrInvalidEvent,
					Reason: fmt.Sprintf("version %d", e.Version)}
			}
			first[e.StreamID] = e.Version
		}
		last[e.StreamID] = e.Version
	}
	streams := make([]string, 0, len(first))
	for st := range first {
		streams = append(streams, st)
	}
	slices.Sort(streams)
	src := &importSource{limits: s.cfg.Limits, events: events, ids: make([][16]byte, len(events))}

	var last2 error
	for range s.cfg.AppendAttempts {
		res, retry, err := s.importOnce(ctx, streams, first, last, src)
		if err == nil {
			s.NotifyAppended()
			return res, nil
		}
		if !retry {
			return ImportResult{}, err
		}
		last2 = err
	}
	return ImportResult{}, last2
}

// importOnce runs one import transaction; retry reports an order-guard
// refusal worth running again.
func (s *Store) importOnce(ctx context.Context, streams []string, first, last map[string]uint64, src *importSource) (ImportResult, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	schema := s.cfg.Schema
	// The same per-stream advisory locks as append_events, taken in one
	// order so concurrent imports cannot deadlock, before this transaction
	// has an id.
	if _, err := tx.Exec(ctx, s.sql.importLock, streams); err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	current := make(map[string]uint64, len(streams))
	lastTid := int64(0)
	var offset int64
	qrows, err := tx.Query(ctx, s.sql.importHeads, streams)
	if err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	for qrows.Next() {
		var id *string
		var v, t *int64
		if err := qrows.Scan(&offset, &id, &v, &t); err != nil {
			qrows.Close()
			return ImportResult{}, false, s.mapError("import", "", err)
		}
		if id != nil && v != nil && t != nil {
			current[*id] = uint64(*v)
			lastTid = max(lastTid, *t)
		}
	}
	qrows.Close()
	if err := qrows.Err(); err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	restored, err := s.checkRestored(ctx, tx)
	if err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	if restored {
		return ImportResult{}, false, s.needsReanchor("import", "")
	}
	for _, st := range streams {
		if first[st] != current[st]+1 {
			return ImportResult{}, false, &eventstore.ConflictError{Stream: st, Expected: eventstore.Exact(first[st] - 1), Actual: current[st],
				Reason: "import: the batch does not start right after the stream's current version"}
		}
	}
	var tid int64
	var now time.Time
	if err := tx.QueryRow(ctx, s.sql.importTid, offset).Scan(&tid, &now); err != nil {
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	if lastTid > tid {
		return ImportResult{}, true, &eventstore.ConflictError{Stream: streams[0], Retry: true, Expected: eventstore.Any,
			Reason: fmt.Sprintf("per-stream order guard: a stream's last append has transaction id %d, above the import's %d", lastTid, tid)}
	}
	src.start(tid, now)
	_, err = tx.CopyFrom(ctx, pgx.Identifier{schema, "events"},
		[]string{"transaction_id", "stream_id", "version", "event_id", "type", "data", "metadata", "recorded_at"}, src)
	if src.err != nil {
		// An event the source refused (pgx sent the server CopyFail with
		// its text and returns the server's error).
		return ImportResult{}, false, src.err
	}
	if err != nil {
		if isEventIDViolation(err) {
			ce := &eventstore.ConflictError{Stream: "", Expected: eventstore.Any, Reason: "import: event ID already stored"}
			ce.EventID = violatingEventID(err, appendArgs{ids: src.ids[:1]})
			for i, id := range src.ids {
				if id == ce.EventID {
					ce.Stream = src.events[i].StreamID
				}
			}
			return ImportResult{}, false, ce
		}
		if isVersionViolation(err) {
			// One of the versions was taken after the check above, by a
			// writer outside this store (the store's own appends take the
			// stream's advisory lock, shared, which these exclusive locks
			// exclude): run again.
			return ImportResult{}, true, &eventstore.ConflictError{Stream: streams[0], Retry: true, Expected: eventstore.Any,
				Reason: "import: a stream was appended to concurrently"}
		}
		return ImportResult{}, false, s.mapError("import", "", err)
	}
	res := ImportResult{Events: len(src.events), Streams: make(map[string]uint64, len(streams))}
	for _, st := range streams {
		res.Streams[st] = last[st]
	}
	sess := sessionOf(tx.Conn())
	if err := tx.Commit(ctx); err != nil {
		if !uncertain(err) {
			return ImportResult{}, false, s.mapError("import", "", err)
		}
		// The commit's reply was lost: settle it by the batch's event IDs,
		// all stored or none.
		closeConn(ctx, tx.Conn())
		ids := src.ids
		stored, rerr := s.resolve(ctx, sess, func(ctx context.Context) (bool, error) {
			found, err := s.findIDs(ctx, ids)
			switch {
			case err != nil:
				return false, err
			case len(found) != 0 && len(found) != len(ids):
				return false, fmt.Errorf("%d of the batch's %d event IDs are stored", len(found), len(ids))
			}
			return len(found) == len(ids), nil
		})
		switch {
		case rerr != nil:
			ou := &eventstore.OutcomeUnknownError{Expected: eventstore.Any, EventIDs: make([]uuid.UUID, len(ids)),
				Err: fmt.Errorf("import: commit: %w; then %w", err, rerr)}
			for i, id := range ids {
				ou.EventIDs[i] = id
			}
			return ImportResult{}, false, ou
		case !stored:
			return ImportResult{}, false, s.failed(ctx, "import", "", err)
		}
	}
	return res, false, nil
}

// importSource is an import's rows for COPY (a [pgx.CopyFromSource]). It
// checks each event as COPY asks for it, against the limits and for an ID
// given twice, and encodes its metadata: a refused event stops the COPY
// (the transaction then writes nothing) and is kept in err.
type importSource struct {
	limits eventstore.Limits
	events []eventstore.RecordedEvent
	// ids are the events' IDs as imported, zero IDs replaced by a new
	// UUID v7 the first time (a retry keeps them).
	ids [][16]byte
	// err is the first event refused.
	err error

	next int
	seen map[[16]byte]int
	vals []any
	// tid and now, boxed once for every row of the attempt.
	tid, now any
}

// start readies the source for a COPY by the transaction tid, which began
// at now (the time of events without one).
func (src *importSource) start(tid int64, now time.Time) {
	src.next, src.err = 0, nil
	src.seen = make(map[[16]byte]int, len(src.events))
	src.tid, src.now = tid, now
	if src.vals == nil {
		src.vals = make([]any, 8)
	}
}

func (src *importSource) Next() bool { return src.err == nil && src.next < len(src.events) }

// Values returns the next row. The values are plain (pgx encodes them
// without reflection; pointers into a reused row cost it a reflective
// dereference and an allocation each), in one slice that pgx has encoded
// before it asks for the next row.
func (src *importSource) Values() ([]any, error) {
	i := src.next
	src.next++
	e := &src.events[i]
	if err := src.limits.CheckAppend(e.StreamID, []eventstore.Event{e.Event}); err != nil {
		var inv *eventstore.InvalidAppendError
		if errors.As(err, &inv) {
			inv.Index = i
		}
		src.err = err
		return nil, err
	}
	id := src.ids[i]
	if id == ([16]byte{}) {
		if id = e.ID; id == uuid.Nil {
			id = eventstore.NewEventID()
		}
		src.ids[i] = id
	}
	if j, dup := src.seen[id]; dup {
		src.err = &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrDuplicateEventID,
			Reason: fmt.Sprintf("event ID %s also at index %d", uuid.UUID(id), j)}
		return nil, src.err
	}
	src.seen[id] = i
	var data, md []byte
	if len(e.Data) > 0 {
		data = e.Data
	}
	if !e.Metadata.IsZero() {
		var err error
		if md, err = encodeMetadata(e.Metadata); err != nil {
			src.err = &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrInvalidEvent, Reason: err.Error()}
			return nil, src.err
		}
	}
	at := src.now
	if !e.RecordedAt.IsZero() {
		at = e.RecordedAt
	}
	v := src.vals
	v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] = src.tid, e.StreamID, int64(e.Version), id, e.Type, data, md, at
	return v, nil
}

func (src *importSource) Err() error { return src.err }
