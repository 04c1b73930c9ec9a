package postgres

import (
	"context"
	"iter"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// ReadStream implements [eventstore.Store]. It reads in pages of
// [Config.PageSize] events, holding a connection only while a page is
// fetched. A stream's visible versions are always contiguous (an append
// computes its version from a committed one, and the primary key refuses a
// version taken twice), so stream reads need no horizon.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		ctx, rd := s.tel.StartRead(ctx, telemetry.OpReadStream, stream)
		n := 0
		defer func() { rd.End(ctx, n, nil) }()
		if err := s.cfg.Limits.CheckStreamID(stream); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		if err := eventstore.CheckLimit("read stream", stream, opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		backwards := opts.Direction == eventstore.Backwards
		next := int64(min(opts.From, math.MaxInt64))
		if backwards && next == 0 {
			next = math.MaxInt64
		}
		remaining := opts.Limit
		first := true
		query := s.sql.readStream
		if backwards {
			query = s.sql.readBack
		}
		pageSize, buf := s.readBuffer(remaining)
		// ahead is the next page, fetched while this one is delivered (into
		// spare, the buffer of the page delivered before), so that the
		// server's part of a page overlaps the consumer's: a long stream
		// read (an aggregate's load) is not a sequence of idle waits. Only
		// for a consumer that takes a while over a page (at least half as
		// long as fetching one took): for one that just collects the
		// events, the handoff between goroutines cost more than it saved
		// (a 10,000-event read 15 % slower).
		var ahead chan fetchedPage
		var spare []eventstore.RecordedEvent
		var fetchTook, deliverTook time.Duration
		defer func() {
			// A page still being fetched ahead is abandoned: it ends on its
			// own (its channel has room), and its buffer goes to the
			// collector.
			putBuffer(buf)
			putBuffer(spare)
		}()
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			if s.isClosed() {
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			page := pageSize
			if opts.Limit > 0 {
				page = min(page, remaining)
			}
			var err error
			if ahead != nil {
				got := <-ahead
				ahead, spare = nil, buf
				buf, err = got.buf, got.err
			} else {
				start := time.Now()
				buf, err = s.fetchStream(ctx, buf[:0], query, stream, next, page)
				fetchTook = time.Since(start)
			}
			if err != nil {
				// Deliver what arrived, then look into the event that would
				// have come next (see unreadable.go).
				for _, e := range buf {
					n++
					if !yield(e, nil) {
						return
					}
					remaining--
					next = int64(e.Version) + 1
					if backwards {
						next = int64(e.Version) - 1
					}
				}
				if (opts.Limit > 0 && remaining <= 0) || next < 1 {
					return
				}
				if !isolatable(ctx, err) {
					yield(eventstore.RecordedEvent{}, s.mapError("read stream", stream, err))
					return
				}
				nextQuery := s.sql.nextStream
				if backwards {
					nextQuery = s.sql.nextBack
				}
				e, err := s.isolate(ctx, nextQuery, []any{stream, next, 1}, err)
				if err != nil {
					yield(eventstore.RecordedEvent{}, s.readFailure("read stream", stream, err))
					return
				}
				n++
				if !yield(e, nil) {
					return
				}
				first = false
				remaining--
				next = int64(e.Version) + 1
				if backwards {
					next = int64(e.Version) - 1
				}
				if (opts.Limit > 0 && remaining <= 0) || next < 1 {
					return
				}
				continue
			}
			if first && len(buf) == 0 {
				var exists bool
				if err := s.pool.QueryRow(ctx, s.sql.streamExists, stream).Scan(&exists); err != nil {
					yield(eventstore.RecordedEvent{}, s.mapError("read stream", stream, err))
					return
				}
				if !exists {
					yield(eventstore.RecordedEvent{}, &eventstore.StreamNotFoundError{Stream: stream})
				}
				return
			}
			first = false
			n += len(buf)
			remaining -= len(buf)
			more := len(buf) == page && (opts.Limit == 0 || remaining > 0)
			if more {
				last := int64(buf[len(buf)-1].Version)
				if backwards {
					next = last - 1
					more = next >= 1
				} else {
					next = last + 1
				}
			}
			if more && (fetchAheadAlways.Load() || deliverTook > 0 && deliverTook >= fetchTook/2) {
				page := pageSize
				if opts.Limit > 0 {
					page = min(page, remaining)
				}
				ahead = s.fetchAhead(ctx, spare, query, stream, next, page)
				spare = nil
			}
			start := time.Now()
			for _, e := range buf {
				if !yield(e, nil) {
					return
				}
			}
			deliverTook = time.Since(start)
			if !more {
				return
			}
		}
	}
}

// fetchAheadAlways makes every stream read fetch its next page ahead,
// whatever its consumer's pace (for tests).
var fetchAheadAlways atomic.Bool

// fetchedPage is a page of a stream read fetched ahead (see ReadStream).
type fetchedPage struct {
	buf []eventstore.RecordedEvent
	err error
}

// fetchAhead starts fetching the page (of page events) of stream from
// version from, into buf (a new buffer when nil), and returns where it will
// arrive. The channel has room for the page, so the fetch ends whether or
// not it is received.
func (s *Store) fetchAhead(ctx context.Context, buf []eventstore.RecordedEvent, query, stream string, from int64, page int) chan fetchedPage {
	if buf == nil {
		_, buf = s.readBuffer(page)
	}
	ch := make(chan fetchedPage, 1)
	go func() {
		b, err := s.fetchStream(ctx, buf[:0], query, stream, from, page)
		ch <- fetchedPage{b, err}
	}()
	return ch
}

// ReadAll implements [eventstore.Store]. It reads the global log in
// (transaction id, position) order, only below the horizon: events of
// transactions that may still be in flight, and everything after them, wait
// for a later read (see the package documentation).
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		ctx, rd := s.tel.StartRead(ctx, telemetry.OpReadAll, "")
		n := 0
		defer func() { rd.End(ctx, n, nil) }()
		if err := eventstore.CheckLimit("read all", "", opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		backwards := opts.Direction == eventstore.Backwards
		from := opts.From
		if backwards && from.IsZero() {
			from = eventstore.Position{Commit: math.MaxInt64, Prepare: math.MaxInt64}
		}
		remaining := opts.Limit
		pageSize, buf := s.readBuffer(remaining)
		defer func() { putBuffer(buf) }()
		first := true
		var deadline time.Time
		wait := time.Millisecond
		// below is the horizon of the last page read with readPage, kept
		// while pages come back full: the next pages read below it with a
		// plain query instead of taking a horizon each. Every event below
		// an older horizon is as final as below a newer one (the horizon
		// only rises), so the order is the same; a page that comes back
		// short under it is followed by a readPage, which takes a fresh
		// horizon before the read can end or wait.
		var below int64
		// deliver yields the page read and moves the read past it; false
		// when the caller stopped.
		deliver := func() bool {
			if !yieldAll(buf, yield) {
				return false
			}
			remaining -= len(buf)
			if len(buf) > 0 {
				from = buf[len(buf)-1].Position
			}
			return true
		}
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			if s.isClosed() {
				yield(eventstore.RecordedEvent{}, eventstore.ErrClosed)
				return
			}
			page := pageSize
			if opts.Limit > 0 {
				page = min(page, remaining)
			}
			var h horizon
			var err error
			cached := below > 0
			if cached {
				buf, err = s.readBelow(ctx, buf[:0], from, backwards, page, eventstore.Filter{}, below)
			} else {
				buf, h, err = s.readPage(ctx, buf[:0], from, backwards, page, eventstore.Filter{})
			}
			if err != nil {
				// Deliver what arrived, then look into the event that would
				// have come next (see unreadable.go).
				n += len(buf)
				if !deliver() {
					return
				}
				if opts.Limit > 0 && remaining <= 0 {
					return
				}
				if !isolatable(ctx, err) {
					yield(eventstore.RecordedEvent{}, s.mapError("read all", "", err))
					return
				}
				nextQuery := s.sql.nextAll
				if backwards {
					nextQuery = s.sql.nextAllBack
				}
				e, err := s.isolate(ctx, nextQuery, []any{clampPos(from.Commit), clampPos(from.Prepare), 1, nil, nil}, err)
				if err != nil {
					yield(eventstore.RecordedEvent{}, s.readFailure("read all", "", err))
					return
				}
				n++
				if !yield(e, nil) {
					return
				}
				first = false
				remaining--
				from = e.Position
				if opts.Limit > 0 && remaining <= 0 {
					return
				}
				continue
			}
			if cached && len(buf) < page && (opts.Limit <= 0 || remaining > len(buf)) {
				// The end of what was below the kept horizon: deliver it,
				// then read on with a fresh one.
				n += len(buf)
				if !deliver() {
					return
				}
				below = 0
				continue
			}
			// Committed events wait behind a transaction in flight. Forwards,
			// at the end of the log, or backwards, before the first event:
			// wait up to HorizonWait for it to end, so a read returns what
			// was committed before it began.
			if h.held() && ((backwards && first) || (!backwards && len(buf) < page)) {
				if deadline.IsZero() {
					deadline = time.Now().Add(s.cfg.HorizonWait)
				}
				if time.Now().Before(deadline) {
					if !backwards {
						n += len(buf)
						if !deliver() {
							return
						}
						if opts.Limit > 0 && remaining <= 0 {
							return
						}
					}
					if !sleep(ctx, s.done, wait) {
						continue // reports ctx or Close
					}
					wait = min(2*wait, 50*time.Millisecond)
					continue
				}
			}
			first = false
			n += len(buf)
			if !yieldAll(buf, yield) {
				return
			}
			remaining -= len(buf)
			if len(buf) < page || (opts.Limit > 0 && remaining <= 0) {
				return
			}
			from = buf[len(buf)-1].Position
			if !cached {
				below = h.horizon
			}
		}
	}
}

func yieldAll(buf []eventstore.RecordedEvent, yield func(eventstore.RecordedEvent, error) bool) bool {
	for _, e := range buf {
		if !yield(e, nil) {
			return false
		}
	}
	return true
}

// initialPageBuffer is the capacity a read's buffer starts with.
const initialPageBuffer = 32

// pageBuffers recycles the page buffers of reads that fetch whole pages:
// one is as large as a page of events (PageSize × ~170 bytes), and a read
// that grew its own every time spent more in the allocator and the
// collector than in decoding.
var pageBuffers sync.Pool // of *[]eventstore.RecordedEvent

// readBuffer returns the page size of a read limited to limit events (0:
// no limit) and its buffer. A read of a few events gets a small buffer of
// its own (a 10-event read must not cost a PageSize buffer); others reuse
// one through pageBuffers. Give it back with putBuffer.
func (s *Store) readBuffer(limit int) (int, []eventstore.RecordedEvent) {
	page := s.cfg.PageSize
	if limit > 0 {
		page = min(limit, page)
	}
	if page <= initialPageBuffer {
		return page, make([]eventstore.RecordedEvent, 0, page)
	}
	if b, ok := pageBuffers.Get().(*[]eventstore.RecordedEvent); ok {
		return page, (*b)[:0]
	}
	return page, make([]eventstore.RecordedEvent, 0, min(page, initialPageBuffer))
}

// putBuffer returns a read's buffer to pageBuffers, cleared so that it
// keeps no payload or string alive.
func putBuffer(buf []eventstore.RecordedEvent) {
	if cap(buf) <= initialPageBuffer {
		return
	}
	buf = buf[:cap(buf)]
	clear(buf)
	pageBuffers.Put(&buf)
}

// horizon is what a page read learnt about the log's horizon.
type horizon struct {
	// horizon is the first transaction id (plus epoch offset) that may still
	// be in flight; the read stopped below it.
	horizon int64
	// top is the highest committed transaction id in the log, -1 if none.
	top int64
}

// held reports whether committed events wait behind the horizon.
func (h horizon) held() bool { return h.top >= h.horizon }

// readPage reads up to limit events of the global log after (or, backwards,
// before) from, below the horizon, passing filter. It also returns the
// horizon the read used.
func (s *Store) readPage(ctx context.Context, buf []eventstore.RecordedEvent, from eventstore.Position, backwards bool, limit int, filter eventstore.Filter) ([]eventstore.RecordedEvent, horizon, error) {
	query := s.sql.readAll
	if backwards {
		query = s.sql.readAllBack
	}
	types, prefixes := filterArgs(filter)
	rows, err := s.pool.Query(ctx, query, clampPos(from.Commit), clampPos(from.Prepare), limit, types, prefixes)
	if err != nil {
		return buf, horizon{}, err
	}
	defer rows.Close()
	var h horizon
	var d pageDecoder
	start := len(buf)
	// One slice of targets for the whole page: a variadic call would build
	// (and allocate) it again for every row.
	dest := append([]any{&h.horizon, &h.top}, d.targets()...)
	r := &d.r
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return buf, horizon{}, &rowError{err}
		}
		if r.tid < 0 { // the horizon row of an empty page
			continue
		}
		e, err := d.event()
		if err != nil {
			return buf, horizon{}, &rowError{err}
		}
		buf = append(buf, e)
	}
	if err := rows.Err(); err != nil {
		return buf, horizon{}, err
	}
	// The query leaves the order to its lateral subquery (see readAll);
	// make sure of it.
	cmpPos := func(a, b eventstore.RecordedEvent) int { return a.Position.Compare(b.Position) }
	if backwards {
		cmpPos = func(a, b eventstore.RecordedEvent) int { return b.Position.Compare(a.Position) }
	}
	if page := buf[start:]; !slices.IsSortedFunc(page, cmpPos) {
		slices.SortFunc(page, cmpPos)
	}
	return buf, h, nil
}

// readBelow reads up to limit events of the global log after (or,
// backwards, before) from, passing filter, below the horizon a readPage
// returned: the events that page's horizon made final, without taking
// another.
func (s *Store) readBelow(ctx context.Context, buf []eventstore.RecordedEvent, from eventstore.Position, backwards bool, limit int, filter eventstore.Filter, horizon int64) ([]eventstore.RecordedEvent, error) {
	query := s.sql.belowAll
	if backwards {
		query = s.sql.belowBack
	}
	types, prefixes := filterArgs(filter)
	return s.fetch(ctx, buf, query, clampPos(from.Commit), clampPos(from.Prepare), limit, types, prefixes, horizon)
}

// filterArgs are filter's arguments to filter.sql: nil (every one) where
// it names none.
func filterArgs(filter eventstore.Filter) (types, prefixes []string) {
	if len(filter.EventTypes) > 0 {
		types = filter.EventTypes
	}
	if len(filter.StreamPrefixes) > 0 {
		prefixes = filter.StreamPrefixes
	}
	return types, prefixes
}

// fetchStream runs a page read of stream (its statement selects
// stream_columns.sql: no stream_id) and appends its events to buf.
func (s *Store) fetchStream(ctx context.Context, buf []eventstore.RecordedEvent, query, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	return s.fetchWith(ctx, buf, pageDecoder{stream: stream, streamKnown: true}, query, stream, from, limit)
}

// fetch runs a read of eventColumns and appends its events to buf.
func (s *Store) fetch(ctx context.Context, buf []eventstore.RecordedEvent, query string, args ...any) ([]eventstore.RecordedEvent, error) {
	return s.fetchWith(ctx, buf, pageDecoder{}, query, args...)
}

func (s *Store) fetchWith(ctx context.Context, buf []eventstore.RecordedEvent, d pageDecoder, query string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return buf, err
	}
	defer rows.Close()
	dest := d.targets()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return buf, &rowError{err}
		}
		e, err := d.event()
		if err != nil {
			return buf, &rowError{err}
		}
		buf = append(buf, e)
	}
	return buf, rows.Err()
}

// row is one events row as scanned. The byte fields point into the
// driver's read buffer and are valid only until the next row.
type row struct {
	tid        int64
	position   int64
	stream     pgtype.DriverBytes
	version    int64
	id         [16]byte
	typ        pgtype.DriverBytes
	data       pgtype.DriverBytes
	metadata   pgtype.DriverBytes
	recordedAt time.Time
}

// pageDecoder turns the rows of one page into events. Because the driver
// reuses its buffer, it copies what the events keep: payloads go into
// chunks shared by the page's events (one allocation per chunk rather than
// one per event), and a stream ID or type that repeats is one string.
type pageDecoder struct {
	r      row
	chunk  []byte
	stream string
	// streamKnown: every row is of stream, and the rows have no stream_id
	// column (stream_columns.sql).
	streamKnown bool
	types       map[string]string
	ids         interner
}

// pageChunk is the size of a payload chunk; larger payloads get their own
// allocation.
const pageChunk = 32 << 10

// maxInterned bounds the distinct types a page shares strings for.
const maxInterned = 256

// targets returns the scan targets of event_columns.sql (or, streamKnown,
// stream_columns.sql), in order.
func (d *pageDecoder) targets() []any {
	r := &d.r
	if d.streamKnown {
		return []any{&r.tid, &r.position, &r.version, &r.id, &r.typ, &r.data, &r.metadata, &r.recordedAt}
	}
	return []any{&r.tid, &r.position, &r.stream, &r.version, &r.id, &r.typ, &r.data, &r.metadata, &r.recordedAt}
}

func (d *pageDecoder) event() (eventstore.RecordedEvent, error) {
	r := &d.r
	if !d.streamKnown && string(r.stream) != d.stream {
		d.stream = string(r.stream)
	}
	typ, ok := d.types[string(r.typ)]
	if !ok {
		typ = string(r.typ)
		if d.types == nil {
			d.types = make(map[string]string, 8)
		}
		if len(d.types) < maxInterned {
			d.types[typ] = typ
		}
	}
	e := eventstore.RecordedEvent{
		Event:      eventstore.Event{ID: r.id, Type: typ, Data: d.keep(r.data)},
		StreamID:   d.stream,
		Version:    uint64(r.version),
		Position:   eventstore.Position{Commit: uint64(r.tid), Prepare: uint64(r.position)},
		RecordedAt: r.recordedAt.UTC(),
	}
	if len(r.metadata) > 0 {
		// decodeMetadata copies what it keeps.
		md, err := decodeMetadata(r.metadata, &d.ids)
		if err != nil {
			return e, err
		}
		e.Metadata = md
	}
	return e, nil
}

// keep copies b out of the driver's buffer. The copy's capacity is its
// length, so appending to one event's Data never overwrites another's.
func (d *pageDecoder) keep(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(d.chunk)-len(d.chunk) {
		if len(b) > pageChunk/4 {
			return append([]byte(nil), b...)
		}
		d.chunk = make([]byte, 0, pageChunk)
	}
	start := len(d.chunk)
	d.chunk = append(d.chunk, b...)
	return d.chunk[start:len(d.chunk):len(d.chunk)]
}

func clampPos(v uint64) int64 {
	return int64(min(v, math.MaxInt64))
}
