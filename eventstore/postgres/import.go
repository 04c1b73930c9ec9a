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
	first := map[string]uint64{} // each stream's first version in the batch
	last := map[string]uint64{}
	ids := make(map[uuid.UUID]int, len(events))
	rows := make([][]any, len(events))
	for i := range events {
		e := &events[i]
		if err := s.cfg.Limits.CheckAppend(e.StreamID, []eventstore.Event{e.Event}); err != nil {
			var inv *eventstore.InvalidAppendError
			if errors.As(err, &inv) {
				inv.Index = i
			}
			return ImportResult{}, err
		}
		if prev, ok := last[e.StreamID]; ok {
			if e.Version != prev+1 {
				return ImportResult{}, &eventstore.ConflictError{Stream: e.StreamID, Expected: eventstore.Exact(prev), Actual: prev,
					Reason: fmt.Sprintf("import event %d has version %d; the batch's versions of a stream must be contiguous", i, e.Version)}
			}
		} else {
			if e.Version == 0 || e.Version > 1<<62 {
				return ImportResult{}, &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrInvalidEvent,
					Reason: fmt.Sprintf("version %d", e.Version)}
			}
			first[e.StreamID] = e.Version
		}
		last[e.StreamID] = e.Version
		id := e.ID
		if id == uuid.Nil {
			id = eventstore.NewEventID()
		}
		if j, dup := ids[id]; dup {
			return ImportResult{}, &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrDuplicateEventID,
				Reason: fmt.Sprintf("event ID %s also at index %d", id, j)}
		}
		ids[id] = i
		var data, md []byte
		if len(e.Data) > 0 {
			data = e.Data
		}
		if !e.Metadata.IsZero() {
			var err error
			if md, err = encodeMetadata(e.Metadata); err != nil {
				return ImportResult{}, &eventstore.InvalidAppendError{Stream: e.StreamID, Index: i, Err: eventstore.ErrInvalidEvent, Reason: err.Error()}
			}
		}
		var at any
		if !e.RecordedAt.IsZero() {
			at = e.RecordedAt
		}
		// transaction_id (index 0) is filled in once known.
		rows[i] = []any{int64(0), e.StreamID, int64(e.Version), [16]byte(id), e.Type, data, md, at}
	}
	streams := make([]string, 0, len(first))
	for st := range first {
		streams = append(streams, st)
	}
	slices.Sort(streams)

	var last2 error
	for range s.cfg.AppendAttempts {
		res, retry, err := s.importOnce(ctx, streams, first, last, rows)
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
func (s *Store) importOnce(ctx context.Context, streams []string, first, last map[string]uint64, rows [][]any) (ImportResult, bool, error) {
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
	var restored bool
	if err := tx.QueryRow(ctx, s.sql.restored).Scan(&restored); err != nil {
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
	for _, r := range rows {
		r[0] = tid
		if r[7] == nil {
			r[7] = now
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{schema, "events"},
		[]string{"transaction_id", "stream_id", "version", "event_id", "type", "data", "metadata", "recorded_at"},
		pgx.CopyFromRows(rows))
	if err != nil {
		if isEventIDViolation(err) {
			ce := &eventstore.ConflictError{Stream: "", Expected: eventstore.Any, Reason: "import: event ID already stored"}
			ce.EventID = violatingEventID(err, appendArgs{ids: [][16]byte{rows[0][3].([16]byte)}})
			for _, r := range rows {
				if r[3].([16]byte) == ce.EventID {
					ce.Stream = r[1].(string)
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
	res := ImportResult{Events: len(rows), Streams: make(map[string]uint64, len(streams))}
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
		ids := make([][16]byte, len(rows))
		for i, r := range rows {
			ids[i] = r[3].([16]byte)
		}
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
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ImportResult{}, false, ctxErr
			}
			return ImportResult{}, false, s.mapError("import", "", err)
		}
	}
	return res, false, nil
}
