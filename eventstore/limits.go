package eventstore

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Default limits. A store's configuration may change them.
const (
	// DefaultMaxStreamIDLength is the longest stream ID, in bytes.
	DefaultMaxStreamIDLength = 512
	// DefaultMaxTypeLength is the longest event type name, in bytes.
	DefaultMaxTypeLength = 256
	// DefaultMaxEventSize is the largest event, in bytes: payload plus
	// metadata keys and values.
	DefaultMaxEventSize = 1 << 20
	// DefaultMaxAppendEvents is the most events one append may carry.
	DefaultMaxAppendEvents = 10_000
)

// Limits bounds what an append may carry. The zero value means the defaults.
// Every store checks appends with [Limits.CheckAppend] before it writes, so
// bad input is refused with the same typed errors on every backend.
type Limits struct {
	MaxStreamIDLength int
	MaxTypeLength     int
	MaxEventSize      int
	MaxAppendEvents   int
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxStreamIDLength <= 0 {
		l.MaxStreamIDLength = DefaultMaxStreamIDLength
	}
	if l.MaxTypeLength <= 0 {
		l.MaxTypeLength = DefaultMaxTypeLength
	}
	if l.MaxEventSize <= 0 {
		l.MaxEventSize = DefaultMaxEventSize
	}
	if l.MaxAppendEvents <= 0 {
		l.MaxAppendEvents = DefaultMaxAppendEvents
	}
	return l
}

// CheckStreamID returns an [*InvalidAppendError] wrapping
// [ErrInvalidStreamID] if id is empty, longer than MaxStreamIDLength bytes,
// not valid UTF-8, or holds a control character.
func (l Limits) CheckStreamID(id string) error {
	l = l.WithDefaults()
	bad := func(reason string) error {
		return &InvalidAppendError{Stream: id, Index: -1, Err: ErrInvalidStreamID, Reason: reason}
	}
	switch {
	case id == "":
		return bad("empty")
	case len(id) > l.MaxStreamIDLength:
		return bad(fmt.Sprintf("%d bytes, over the limit of %d", len(id), l.MaxStreamIDLength))
	case !utf8.ValidString(id):
		return bad("not valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return bad(fmt.Sprintf("control character %U", r))
		}
	}
	return nil
}

// CheckFilter returns an [*ArgumentError] for op ("subscribe", say) if a
// stream prefix or an event type of f could not name a stream or a type:
// a prefix that is longer than MaxStreamIDLength bytes, not valid UTF-8 or
// holds a control character (the empty prefix passes every stream), an
// event type that is empty or malformed as [Limits.CheckAppend] defines it.
// Stores call it before a filtered read, so that such a filter is refused
// with the same typed error on every backend instead of matching nothing
// on one and failing inside the database on another.
func (l Limits) CheckFilter(op string, f Filter) error {
	l = l.WithDefaults()
	for _, p := range f.StreamPrefixes {
		if msg := l.checkPrefix(p); msg != "" {
			return &ArgumentError{Op: op, Reason: fmt.Sprintf("filter: stream prefix %q: %s", p, msg)}
		}
	}
	for _, t := range f.EventTypes {
		if msg := l.checkType(t); msg != "" {
			return &ArgumentError{Op: op, Reason: fmt.Sprintf("filter: event type %q: %s", t, msg)}
		}
	}
	return nil
}

// CheckPrefix returns an [*ArgumentError] for op if prefix could not start
// a stream ID: longer than MaxStreamIDLength bytes, not valid UTF-8, or
// holding a control character. The empty prefix is valid. Stores call it for
// what lists streams by prefix, or pages through them after a stream ID.
func (l Limits) CheckPrefix(op, prefix string) error {
	if msg := l.WithDefaults().checkPrefix(prefix); msg != "" {
		return &ArgumentError{Op: op, Reason: fmt.Sprintf("stream prefix %q: %s", prefix, msg)}
	}
	return nil
}

func (l Limits) checkPrefix(p string) string {
	switch {
	case len(p) > l.MaxStreamIDLength:
		return fmt.Sprintf("%d bytes, longer than any stream ID (%d)", len(p), l.MaxStreamIDLength)
	case !utf8.ValidString(p):
		return "not valid UTF-8"
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

// CheckAppend validates an append before anything is written: the stream ID,
// at least one and at most MaxAppendEvents events, each with a well-formed
// type, a JSON (or empty) payload in valid UTF-8, a size within MaxEventSize, and no event ID
// twice. Zero IDs are allowed: the store assigns them.
func (l Limits) CheckAppend(stream string, events []Event) error {
	l = l.WithDefaults()
	if err := l.CheckStreamID(stream); err != nil {
		return err
	}
	if len(events) == 0 {
		return &InvalidAppendError{Stream: stream, Index: -1, Err: ErrEmptyAppend}
	}
	if len(events) > l.MaxAppendEvents {
		return &InvalidAppendError{Stream: stream, Index: -1, Err: ErrEventTooLarge,
			Reason: fmt.Sprintf("%d events in one append, over the limit of %d", len(events), l.MaxAppendEvents)}
	}
	// Duplicate event IDs: by comparing each with the ones before it in a
	// small append, through a map in a big one.
	const compareUpTo = 16
	var seen map[uuid.UUID]int
	if len(events) > compareUpTo {
		seen = make(map[uuid.UUID]int, len(events))
	}
	for i := range events {
		e := &events[i]
		bad := func(err error, format string, args ...any) error {
			return &InvalidAppendError{Stream: stream, Index: i, Err: err, Reason: fmt.Sprintf(format, args...)}
		}
		if err := l.checkType(e.Type); err != "" {
			return bad(ErrInvalidEvent, "type %q: %s", e.Type, err)
		}
		if size := len(e.Data) + e.Metadata.size(); size > l.MaxEventSize {
			return bad(ErrEventTooLarge, "%d bytes, over the limit of %d", size, l.MaxEventSize)
		}
		if len(e.Data) > 0 && !validJSON(e.Data) {
			return bad(ErrInvalidEvent, "payload is not valid JSON")
		}
		// encoding/json accepts invalid UTF-8 inside strings; PostgreSQL and
		// EventStoreDB's JSON do not.
		if !utf8.Valid(e.Data) {
			return bad(ErrInvalidEvent, "payload is not valid UTF-8")
		}
		if msg := checkEscapes(e.Data); msg != "" {
			return bad(ErrInvalidEvent, "payload %s", msg)
		}
		if err := checkMetadata(e.Metadata); err != "" {
			return bad(ErrInvalidEvent, "metadata: %s", err)
		}
		if e.ID == uuid.Nil {
			continue
		}
		if seen == nil {
			for j := range i {
				if events[j].ID == e.ID {
					return bad(ErrDuplicateEventID, "event ID %s also at index %d", e.ID, j)
				}
			}
			continue
		}
		if j, dup := seen[e.ID]; dup {
			return bad(ErrDuplicateEventID, "event ID %s also at index %d", e.ID, j)
		}
		seen[e.ID] = i
	}
	return nil
}

// checkEscapes refuses the \u escapes of valid JSON that stand for no
// character PostgreSQL's text can hold: \u0000, and a surrogate that is not
// half of a pair. The PostgreSQL store keeps payloads as json, which would
// take them, but every query that reads such a string as text (->> on the
// payload, a cast to jsonb) would fail on that event, and other JSON
// parsers replace or refuse them too. data is valid JSON, so every
// backslash starts an escape inside a string.
func checkEscapes(data []byte) string {
	for i := bytes.IndexByte(data, '\\'); i >= 0 && i+1 < len(data); {
		if data[i+1] != 'u' {
			i += 2 // \", \\, \n ...
		} else {
			r := hex4(data[i+2:])
			switch {
			case r == 0:
				return `holds \u0000, which PostgreSQL's text (and jsonb) cannot hold`
			case r >= 0xD800 && r < 0xDC00: // a high surrogate: a low one must follow
				if len(data) < i+12 || data[i+6] != '\\' || data[i+7] != 'u' {
					return fmt.Sprintf(`holds \u%04x, half of a surrogate pair`, r)
				}
				if lo := hex4(data[i+8:]); lo < 0xDC00 || lo > 0xDFFF {
					return fmt.Sprintf(`holds \u%04x, half of a surrogate pair`, r)
				}
				i += 6
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Sprintf(`holds \u%04x, half of a surrogate pair`, r)
			}
			i += 6
		}
		if i >= len(data) {
			break
		}
		next := bytes.IndexByte(data[i:], '\\')
		if next < 0 {
			break
		}
		i += next
	}
	return ""
}

// hex4 reads the four hex digits of a \u escape in valid JSON.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		}
	}
	return r
}

func (l Limits) checkType(t string) string {
	switch {
	case t == "":
		return "empty"
	case len(t) > l.MaxTypeLength:
		return fmt.Sprintf("%d bytes, over the limit of %d", len(t), l.MaxTypeLength)
	case !utf8.ValidString(t):
		return "not valid UTF-8"
	}
	for _, r := range t {
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

// checkMetadata refuses what no store can keep byte for byte: invalid UTF-8
// and NUL characters (PostgreSQL's text and jsonb reject NUL).
func checkMetadata(m Metadata) string {
	check := func(what, s string) string {
		if !utf8.ValidString(s) {
			return what + " is not valid UTF-8"
		}
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return what + " holds a NUL character"
			}
		}
		return ""
	}
	if msg := check("correlation ID", m.CorrelationID); msg != "" {
		return msg
	}
	if msg := check("causation ID", m.CausationID); msg != "" {
		return msg
	}
	if m.SchemaVersion < 0 {
		return "negative schema version"
	}
	for k, v := range m.Values {
		if k == "" {
			return "empty key"
		}
		if msg := check(fmt.Sprintf("key %q", k), k); msg != "" {
			return msg
		}
		if msg := check(fmt.Sprintf("value of %q", k), v); msg != "" {
			return msg
		}
	}
	return ""
}
