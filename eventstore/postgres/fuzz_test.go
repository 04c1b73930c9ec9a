package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgtest"
)

// escapeSeeds are the payloads of the eventstore package's CheckAppend
// table and the conformance suite's bad-input cases that exercise the escape
// checks, and a few neighbours.
var escapeSeeds = []string{
	`"\u0000"`, `"\\u0000"`, `"\ud83c\udf89"`, `"\ud83c"`, `"\ud83cabcdef"`, `"\ud83c\u0041"`,
	`"x\uDF89"`, `["\\\"\n","\u0000"]`, `["\\\"\n\u00e9"]`, `{"a":"x\u0000y"}`, `{"a":"x\ud83cy"}`,
	`{"\u0000":1}`, `"\uD83C\uDF89"`, `"\udbff\udfff"`, `"\ud800\udc00"`, `"\\\ud83c"`, `"\\\\u0000"`,
	`{"ok":true}`, `[1, 2.5e3, -0, "é"]`, `"\u00e9\u20ac"`, `"\/\b\f\n\r\t"`,
}

// FuzzPayloadEscapes: the payload escape checks of Limits.CheckAppend
// refuse exactly the valid JSON that PostgreSQL's jsonb refuses for its
// escapes: \u0000 (22P05) and half of a surrogate pair (22P02). A number
// that jsonb's numeric cannot hold (22003) is not the escape checks'
// business. Payloads that are not valid JSON or not UTF-8 are refused
// earlier and skipped here.
func FuzzPayloadEscapes(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add([]byte(s))
	}
	pool, _ := pgtest.Pool(f, pgtest.MaxConns(2))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Skip()
		}
		err := eventstore.Limits{}.CheckAppend("s", []eventstore.Event{{Type: "T", Data: data}})
		refused := err != nil
		if refused && !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Fatalf("CheckAppend(%q) = %v, want nil or ErrInvalidEvent", data, err)
		}
		_, pgErr := pool.Exec(context.Background(), `SELECT $1::text::jsonb`, string(data))
		pgRefused := false
		if pgErr != nil {
			var pe *pgconn.PgError
			if !errors.As(pgErr, &pe) {
				t.Fatalf("jsonb(%q): %v", data, pgErr)
			}
			switch pe.Code {
			case "22P05", "22P02":
				pgRefused = true
			case pgerr.NumericValueOutOfRange:
			default:
				t.Fatalf("jsonb(%q): %v (an error the escape checks do not foresee)", data, pgErr)
			}
		}
		if refused != pgRefused {
			t.Fatalf("payload %q: CheckAppend says %v, PostgreSQL's jsonb says %v", data, err, pgErr)
		}
	})
}

// FuzzAppend: every append is refused with the typed error and stores
// nothing, or reads back byte for byte (see eventstoretest.FuzzAppend):
// PostgreSQL refuses nothing that Limits.CheckAppend lets through, and
// returns nothing larger than was written.
func FuzzAppend(f *testing.F) {
	s, pool, _ := newStore(f)
	eventstoretest.FuzzAppend(f, s, func(t testing.TB) int {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}
