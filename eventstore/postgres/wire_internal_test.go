package postgres

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestAppendParamsAsPgxEncodes: the single statement's parameters as
// appendParams encodes them are, byte for byte, what pgx's own codecs make
// of the values the pgx path passes (see Store.insertWith), for one event
// and for many, with NULL payloads and metadata, empty and multi-byte
// strings, every expected-version kind, and stamps before and after 2000.
func TestAppendParamsAsPgxEncodes(t *testing.T) {
	m := pgtype.NewMap()
	rng := rand.New(rand.NewPCG(1, 2))
	json := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte(`{}`)
		}
		return fmt.Appendf(nil, `{"n":%d,"s":"%s"}`, rng.Int64(), strings.Repeat("é", rng.IntN(300)))
	}
	stamps := []epochStamp{
		{started: time.Date(2026, 12, 7, 16, 39, 22, 123456000, time.UTC), xmin: 7},
		{started: time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("x", 3600)), xmin: 1 << 40},
		{xmin: -1}, // noStamp
	}
	for round := range 200 {
		n := 1 + rng.IntN(12)
		if round < 20 {
			n = 1
		}
		a := appendArgs{
			stream:   strings.Repeat("s", rng.IntN(40)) + "-ü",
			kind:     int16(rng.IntN(4)),
			version:  rng.Int64() - rng.Int64(),
			ids:      make([][16]byte, n),
			types:    make([]string, n),
			data:     make([][]byte, n),
			metadata: make([][]byte, n),
		}
		for i := range n {
			for k := range a.ids[i] {
				a.ids[i][k] = byte(rng.Uint32())
			}
			a.types[i] = strings.Repeat("T", rng.IntN(20))
			a.data[i], a.metadata[i] = json(), json()
		}
		st := &stamps[round%len(stamps)]
		var values []any
		oids := appendOneParams
		if n == 1 {
			values = []any{a.stream, a.kind, a.version, a.ids[0], a.types[0], a.data[0], a.metadata[0], st.started, st.xmin}
		} else {
			oids = appendManyParams
			values = []any{a.stream, a.kind, a.version, pgtype.FlatArray[[16]byte](a.ids), pgtype.FlatArray[string](a.types),
				pgtype.FlatArray[[]byte](a.data), pgtype.FlatArray[[]byte](a.metadata), st.started, st.xmin}
		}
		got := a.appendParams(st)
		if len(got) != len(oids) {
			t.Fatalf("%d parameters, want %d", len(got), len(oids))
		}
		for i, oid := range oids {
			want, err := m.Encode(oid, pgtype.BinaryFormatCode, values[i], nil)
			if err != nil {
				t.Fatalf("pgx encoding parameter %d (%d events): %v", i+1, n, err)
			}
			if (got[i] == nil) != (want == nil) || !bytes.Equal(got[i], want) {
				t.Fatalf("parameter $%d of %d events:\n got %x\nwant %x", i+1, n, got[i], want)
			}
		}
	}
}

// TestAppendedRows: the returned rows make the append's result in any
// order; no row is an append not written; a missing, doubled or foreign
// version, or a row that is not three bigints, is an error.
func TestAppendedRows(t *testing.T) {
	a := &appendArgs{stream: "s", ids: make([][16]byte, 3)}
	row := func(tid, pos, version uint64) [][]byte {
		return [][]byte{be.AppendUint64(nil, tid), be.AppendUint64(nil, pos), be.AppendUint64(nil, version)}
	}
	rows := func(rs ...[][]byte) (*appended, error) {
		var g appended
		for _, r := range rs {
			if err := g.add(a, r); err != nil {
				return nil, err
			}
		}
		return &g, nil
	}
	g, _ := rows(row(9, 12, 7), row(9, 10, 5), row(9, 11, 6))
	res, written, err := g.result(a)
	if err != nil || !written || res.Version != 7 || len(res.Positions) != 3 ||
		res.Positions[0].Prepare != 10 || res.Positions[1].Prepare != 11 || res.Positions[2].Prepare != 12 || res.Positions[2].Commit != 9 {
		t.Fatalf("rows out of order: %+v, %v, %v", res, written, err)
	}
	var none appended
	if _, written, err := none.result(a); written || err != nil {
		t.Fatalf("no row: %v, %v; want not written", written, err)
	}
	for name, rs := range map[string][][][]byte{
		"two rows":        {row(9, 10, 5), row(9, 11, 6)},
		"a version twice": {row(9, 10, 5), row(9, 11, 6), row(9, 12, 6)},
		"a gap":           {row(9, 10, 5), row(9, 11, 6), row(9, 12, 8)},
	} {
		g, _ := rows(rs...)
		if _, written, err := g.result(a); written || err == nil {
			t.Errorf("%s: %v, %v; want an error", name, written, err)
		}
	}
	if _, err := rows([][]byte{{1}, {2}, {3}}); err == nil {
		t.Error("a row of short values: no error")
	}
}
