package postgres

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/chronicle-go/chronicle/eventstore"
)

// decodeMetadata decodes a metadata column. Reads decode one per event, and
// encoding/json's reflection was a large share of a stream read's client
// time, so the common shape (the known keys, strings without escapes, as
// encodeMetadata writes them and jsonb printed them) is scanned by hand; anything else goes to
// encoding/json, which defines the result. The result is returned by value
// so that the caller's event does not escape to the heap; in, if not nil,
// shares correlation and causation IDs that repeat from event to event.
func decodeMetadata(b []byte, in *interner) (eventstore.Metadata, error) {
	var m eventstore.Metadata
	if scanMetadata(b, &m, in) {
		return m, nil
	}
	return unmarshalMetadata(b)
}

// encodeMetadata writes m as the metadata column stores it: encoding/json,
// without its HTML escapes (<, > and & as \u003c...), which would send
// every read of such a value down decodeMetadata's slow path. Metadata
// whose strings are printable ASCII without quotes or backslashes (the
// common case: IDs, trace context) is written by hand, byte for byte as
// encoding/json writes it (its reflection was most of an import's metadata
// cost); anything else goes to encoding/json.
func encodeMetadata(m eventstore.Metadata) ([]byte, error) {
	if b, ok := appendMetadata(make([]byte, 0, 64), m); ok {
		return b, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func unmarshalMetadata(b []byte) (eventstore.Metadata, error) {
	var m eventstore.Metadata
	err := json.Unmarshal(b, &m)
	return m, err
}

// interner remembers the last few correlation and causation IDs a page
// decoded, and apart from them the last few keys and values of Values
// (traceparent and tracestate, when tracing is on): the events of one
// command share them, and every event shares the keys, so a repeat costs a
// comparison instead of an allocation. (Two rings: the IDs and the values
// cycling through one would miss every time.)
type interner struct {
	ids  ring
	vals ring
}

type ring struct {
	last [4]string
	next int
}

func (in *interner) string(b []byte) string {
	if in == nil {
		return string(b)
	}
	return in.ids.string(b)
}

func (in *interner) value(b []byte) string {
	if in == nil {
		return string(b)
	}
	return in.vals.string(b)
}

func (r *ring) string(b []byte) string {
	for _, s := range r.last {
		if s == string(b) { // compared in place, not allocated
			return s
		}
	}
	s := string(b)
	r.last[r.next] = s
	r.next = (r.next + 1) % len(r.last)
	return s
}

func scanMetadata(b []byte, m *eventstore.Metadata, in *interner) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	for first := true; ; first = false {
		i = skipSpace(b, i)
		if first && i < len(b) && b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		key, j, ok := scanBytes(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		switch string(key) { // compared in place, not allocated
		case "correlation_id", "causation_id":
			v, j, ok := scanBytes(b, i)
			if !ok {
				return false
			}
			s := in.string(v)
			if string(key) == "correlation_id" {
				m.CorrelationID = s
			} else {
				m.CausationID = s
			}
			i = j
		case "schema_version":
			j := i
			for j < len(b) && (b[j] == '-' || ('0' <= b[j] && b[j] <= '9')) {
				j++
			}
			if !jsonInt(b[i:j]) {
				return false // Atoi would take "01" and "+1", JSON does not
			}
			n, err := strconv.Atoi(string(b[i:j]))
			if err != nil {
				return false
			}
			m.SchemaVersion, i = n, j
		case "values":
			if i >= len(b) || b[i] != '{' {
				return false
			}
			i++
			if m.Values == nil {
				// A second "values" adds to the first, as encoding/json
				// decodes into the map it already has.
				m.Values = make(map[string]string, 4)
			}
			for first := true; ; first = false {
				i = skipSpace(b, i)
				if i < len(b) && b[i] == '}' {
					i++
					break
				}
				if !first {
					if i >= len(b) || b[i] != ',' {
						return false
					}
					i = skipSpace(b, i+1)
				}
				k, j, ok := scanBytes(b, i)
				if !ok {
					return false
				}
				i = skipSpace(b, j)
				if i >= len(b) || b[i] != ':' {
					return false
				}
				v, j, ok := scanBytes(b, skipSpace(b, i+1))
				if !ok {
					return false
				}
				m.Values[in.value(k)], i = in.value(v), j
			}
		default:
			return false
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		return false
	}
}

// jsonInt reports whether b is a JSON integer: an optional minus, then 0
// or a digit sequence without a leading zero.
func jsonInt(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// scanBytes reads a JSON string without escapes starting at b[i] and
// returns the bytes inside the quotes, which alias b; a backslash makes it
// give up.
func scanBytes(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// appendMetadata appends m as encoding/json writes it (fields in order,
// empty ones left out, Values' keys sorted), or reports false when a string
// would need escaping or is not ASCII.
func appendMetadata(b []byte, m eventstore.Metadata) ([]byte, bool) {
	b = append(b, '{')
	n := 0
	key := func(name string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				return false
			}
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
		return true
	}
	if m.CorrelationID != "" {
		key("correlation_id")
		if !str(m.CorrelationID) {
			return nil, false
		}
	}
	if m.CausationID != "" {
		key("causation_id")
		if !str(m.CausationID) {
			return nil, false
		}
	}
	if m.SchemaVersion != 0 {
		key("schema_version")
		b = strconv.AppendInt(b, int64(m.SchemaVersion), 10)
	}
	if len(m.Values) > 0 {
		key("values")
		keys := make([]string, 0, len(m.Values))
		for k := range m.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if !str(k) {
				return nil, false
			}
			b = append(b, ':')
			if !str(m.Values[k]) {
				return nil, false
			}
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}
