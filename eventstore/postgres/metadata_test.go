package postgres

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chronicle-go/chronicle/eventstore"
)

// metadataInputs are what jsonb prints and shapes the scanner must hand
// over to encoding/json: TestDecodeMetadata's table and
// FuzzDecodeMetadata's seeds.
var metadataInputs = []string{
	`{}`,
	`{"causation_id": "cmd-7", "correlation_id": "order-42"}`,
	`{"values": {"k": "v", "": "x", "é": "日本"}, "causation_id": "c", "schema_version": 3, "correlation_id": "o"}`,
	`{"values": {}}`,
	`{"correlation_id": "a \"quoted\" \\ value"}`,
	`{"correlation_id": "\u00e9"}`,
	`{"values": {"k\n": "v"}}`,
	`{"schema_version": -2}`,
	`{"unknown": 1, "correlation_id": "x"}`,
	`{"correlation_id": "x",}`,
	`{"correlation_id": "x"} trailing`,
	`{"values": {"a": "b" "c": "d"}}`,
	` { "correlation_id" : "x" , "values" : { "a" : "b" , "c" : "d" } } `,
	`{"correlation_id":"x","causation_id":"y","schema_version":2,"values":{"k":"v"}}`,
	`{"values": {"a": "1"}, "values": {"b": "2"}}`,
	`{"schema_version": 01}`,
	`{"schema_version": -0}`,
	`{"schema_version": 1e2}`,
	`{"schema_version": 99999999999999999999}`,
	`{"correlation_id": null}`,
	`{"values": null}`,
	`{"values": {"k": 1}}`,
	`{"CORRELATION_ID": "x"}`,
	`{"correlation_id": "\u003c\u0026"}`,
	"{\"correlation_id\": \"a\tb\"}",
}

// TestDecodeMetadata checks the hand-written scanner against encoding/json
// on what jsonb prints and on shapes it must hand over.
func TestDecodeMetadata(t *testing.T) {
	for _, in := range metadataInputs {
		checkDecodeMetadata(t, []byte(in))
	}
}

// FuzzDecodeMetadata: whatever the column holds, the scanner's result is
// encoding/json's — the same metadata, or an error where encoding/json
// fails. The database sends valid UTF-8 only (encoding/json would replace
// what is not), so other input is skipped.
func FuzzDecodeMetadata(f *testing.F) {
	for _, in := range metadataInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			t.Skip()
		}
		checkDecodeMetadata(t, b)
	})
}

func checkDecodeMetadata(t *testing.T, in []byte) {
	t.Helper()
	var want eventstore.Metadata
	wantErr := json.Unmarshal(in, &want)
	got, err := decodeMetadata(in, nil)
	if (err != nil) != (wantErr != nil) {
		t.Errorf("%s: error %v, encoding/json says %v", in, err, wantErr)
		return
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", in, got, want)
	}
	// With an interner, as reads decode pages: the same result.
	var in2 interner
	if got2, err2 := decodeMetadata(in, &in2); (err2 != nil) != (err != nil) || !reflect.DeepEqual(got2, got) {
		t.Errorf("%s: with an interner %+v, %v; without %+v, %v", in, got2, err2, got, err)
	}
}

// BenchmarkDecodeMetadata decodes a page's worth of metadata as a read
// does, with one interner: the IDs of a command shared by its events, and
// with tracing on, a traceparent per command in Values.
func BenchmarkDecodeMetadata(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			var page [][]byte
			for i := range 100 {
				m := eventstore.Metadata{CorrelationID: "order-42", CausationID: "cmd-" + string(rune('a'+i/4%26))}
				if traced {
					m = m.With("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"+string(rune('0'+i/4%10)))
				}
				md, err := encodeMetadata(m)
				if err != nil {
					b.Fatal(err)
				}
				page = append(page, md)
			}
			b.ReportAllocs()
			for b.Loop() {
				var in interner
				for _, md := range page {
					if _, err := decodeMetadata(md, &in); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// encodeMetadata writes by hand what it can; the bytes must be exactly what
// encoding/json writes (decodeMetadata's fast path and the stored bytes
// depend on it), and anything it cannot write goes to encoding/json.
func TestEncodeMetadataMatchesEncodingJSON(t *testing.T) {
	cases := []eventstore.Metadata{
		{},
		{CorrelationID: "order-42"},
		{CausationID: "cmd-7", SchemaVersion: -3},
		{CorrelationID: "a", CausationID: "b", SchemaVersion: 2, Values: map[string]string{"z": "1", "a": "", "traceparent": "00-4bf9-01", "A": "x y"}},
		{Values: map[string]string{}},
		{CorrelationID: `quo"te`, Values: map[string]string{"k": "back\\slash"}},
		{CorrelationID: "<&>", CausationID: "tab\there"},
		{Values: map[string]string{"é": "日本", "\u2028": "line separator"}},
		{Values: map[string]string{"k": "\x7f del", "nul": "a\x00b"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcXYZ019-_:./ <>&\"\\\t")
	word := func() string {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 500 {
		m := eventstore.Metadata{CorrelationID: word(), CausationID: word(), SchemaVersion: rng.IntN(3) - 1}
		for range rng.IntN(4) {
			m = m.With(word(), word())
		}
		cases = append(cases, m)
	}
	for _, m := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		got, err := encodeMetadata(m)
		if err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
			t.Fatalf("%+v: encoded %s, encoding/json %s", m, got, w)
		}
	}
}

// TestEncodeSharesOneMetadataBuffer: encode writes the events' metadata
// into one buffer; each event's slice must still hold its own metadata,
// exactly as encodeMetadata writes it alone, when the buffer grows, when
// an event in between has none, and when one goes to encoding/json (not
// ASCII) in between.
func TestEncodeSharesOneMetadataBuffer(t *testing.T) {
	s := &Store{cfg: Config{Limits: eventstore.Limits{}.WithDefaults()}}
	long := strings.Repeat("x", 300)
	mds := []eventstore.Metadata{
		{CorrelationID: "a"},
		{},
		{CorrelationID: "é", CausationID: "b"},
		{CorrelationID: long, Values: map[string]string{"k": long}},
		{CausationID: "c", SchemaVersion: 2},
		{Values: map[string]string{"é": "x"}},
		{CorrelationID: "d"},
	}
	events := make([]eventstore.Event, len(mds))
	for i, m := range mds {
		events[i] = eventstore.Event{Type: "E", Data: []byte(`{}`), Metadata: m}
	}
	a, err := s.encode("s", eventstore.Any, events)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range mds {
		if m.IsZero() {
			if a.metadata[i] != nil {
				t.Fatalf("event %d: metadata %s, want none", i, a.metadata[i])
			}
			continue
		}
		want, err := encodeMetadata(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.metadata[i], want) {
			t.Fatalf("event %d: metadata %s, want %s", i, a.metadata[i], want)
		}
	}
}
