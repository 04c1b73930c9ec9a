package postgres

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// The single-statement append's parameters, as the server describes them
// (sql/append_one.sql: one event as scalars; append_many.sql and
// append_batch.sql: the events' columns as arrays).
var (
	appendOneParams = []uint32{pgtype.TextOID, pgtype.Int2OID, pgtype.Int8OID,
		pgtype.UUIDOID, pgtype.TextOID, pgtype.JSONOID, pgtype.JSONOID, pgtype.TimestamptzOID, pgtype.Int8OID}
	appendManyParams = []uint32{pgtype.TextOID, pgtype.Int2OID, pgtype.Int8OID,
		pgtype.UUIDArrayOID, pgtype.TextArrayOID, pgtype.JSONArrayOID, pgtype.JSONArrayOID, pgtype.TimestamptzOID, pgtype.Int8OID}
)

// binaryFormat asks for every parameter and every column in binary.
var binaryFormat = []int16{pgtype.BinaryFormatCode}

// onWire reports whether the store runs the single statement of n events,
// described as sd (nil when it is not prepared by name), on the wire (see
// insertWire): it takes the parameters appendParams encodes and returns
// three bigints.
func (s *Store) onWire(sd *pgconn.StatementDescription, n int) bool {
	if !s.wire || sd == nil {
		return false
	}
	want := appendManyParams
	if n == 1 {
		want = appendOneParams
	}
	return slices.Equal(sd.ParamOIDs, want) && int8Columns(sd.Fields, 3, false)
}

// insertWire runs the single-statement append sd on c with its parameters
// encoded here, in PostgreSQL's binary format, straight into one buffer
// (appendParams), and reads the returned rows raw: what pgx's Conn.Query
// sends, without its per-call encode plans and rows (docs/postgres.md,
// Appends; measured in docs/benchmarks-postgres.md).
// The store takes this path only when pgx would add nothing to it: the
// statement is prepared under the store's name, the pool has no tracer
// (one would see every statement; see New), and the server described the
// parameters and columns appendParams and this reader expect (onWire).
func (s *Store) insertWire(ctx context.Context, c *pgconn.PgConn, sd *pgconn.StatementDescription, a appendArgs) (res eventstore.AppendResult, written bool, err error) {
	rr := c.ExecStatement(ctx, sd, a.appendParams(s.stamp.Load()), binaryFormat, binaryFormat)
	var got appended
	for rr.NextRow() {
		if err := got.add(&a, rr.Values()); err != nil {
			_, _ = rr.Close()
			return res, false, err
		}
	}
	if _, err := rr.Close(); err != nil {
		return res, false, err
	}
	return got.result(&a)
}

// pgEpoch is where PostgreSQL's binary timestamps count from, in
// microseconds of the Unix epoch.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// appendParams encodes the single statement's nine parameters (see
// appendOneParams and appendManyParams) in PostgreSQL's binary format,
// into one buffer: the stream, the expected version's kind and number, the
// events' IDs, types, data and metadata (scalars for one event, otherwise
// one-dimensional arrays, a nil payload as NULL), and the stamp.
func (a *appendArgs) appendParams(st *epochStamp) [][]byte {
	n := len(a.ids)
	size := len(a.stream) + 2 + 8 + 8 + 8
	if n > 1 {
		size += 4 * arrayHeader
	}
	for i := range n {
		size += 4*4 + 16 + len(a.types[i]) + len(a.data[i]) + len(a.metadata[i])
	}
	buf := make([]byte, 0, size)
	params := make([][]byte, 9)
	prev := 0
	next := func(i int) { params[i], prev = buf[prev:len(buf):len(buf)], len(buf) } // parameter i ends here
	buf = append(buf, a.stream...)
	next(0)
	buf = be.AppendUint16(buf, uint16(a.kind))
	next(1)
	buf = be.AppendUint64(buf, uint64(a.version))
	next(2)
	if n == 1 {
		buf = append(buf, a.ids[0][:]...)
		next(3)
		buf = append(buf, a.types[0]...)
		next(4)
		for i, v := range [][]byte{a.data[0], a.metadata[0]} {
			if v != nil { // else NULL: a nil parameter
				buf = append(buf, v...)
				next(5 + i)
			}
		}
	} else {
		buf = appendArray(buf, pgtype.UUIDOID, n, func(buf []byte, i int) ([]byte, bool) { return append(buf, a.ids[i][:]...), true })
		next(3)
		buf = appendArray(buf, pgtype.TextOID, n, func(buf []byte, i int) ([]byte, bool) { return append(buf, a.types[i]...), true })
		next(4)
		for k, col := range [][][]byte{a.data, a.metadata} {
			buf = appendArray(buf, pgtype.JSONOID, n, func(buf []byte, i int) ([]byte, bool) { return append(buf, col[i]...), col[i] != nil })
			next(5 + k)
		}
	}
	buf = be.AppendUint64(buf, uint64(st.started.UnixMicro()-pgEpoch))
	next(7)
	buf = be.AppendUint64(buf, uint64(st.xmin))
	next(8)
	return params
}

// arrayHeader is the size of a one-dimensional array's header in
// PostgreSQL's binary format.
const arrayHeader = 5 * 4

// appendArray appends a one-dimensional array of n elements of type oid
// in PostgreSQL's binary format (array_recv): the number of dimensions,
// whether any element is NULL, the element type, the length and lower
// bound (1), then each element as its length and bytes, -1 for NULL. elem
// appends element i and reports whether it is not NULL.
func appendArray(buf []byte, oid uint32, n int, elem func(buf []byte, i int) ([]byte, bool)) []byte {
	buf = be.AppendUint32(buf, 1)
	flags := len(buf)
	buf = be.AppendUint32(buf, 0)
	buf = be.AppendUint32(buf, oid)
	buf = be.AppendUint32(buf, uint32(n))
	buf = be.AppendUint32(buf, 1)
	for i := range n {
		at := len(buf)
		buf = be.AppendUint32(buf, 0)
		var ok bool
		buf, ok = elem(buf, i)
		if !ok {
			be.PutUint32(buf[at:], math.MaxUint32) // -1: NULL
			be.PutUint32(buf[flags:], 1)
			continue
		}
		be.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	return buf
}
