package jetstream

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/chronicle-go/chronicle/broker"
)

// HeaderPrefix starts every CloudEvents attribute header (the NATS binding's
// binary mode).
const HeaderPrefix = "ce-"

// HeaderMsgID is JetStream's de-duplication header.
const HeaderMsgID = "Nats-Msg-Id"

// Encode returns m as a NATS message on subject in CloudEvents binary
// content mode, with Nats-Msg-Id set to m.ID.
func Encode(subject string, m broker.Message) *nats.Msg {
	msg := nats.NewMsg(subject)
	msg.Data = m.Data
	for _, a := range m.Attributes() {
		msg.Header.Set(HeaderPrefix+a.Name, PercentEncode(a.Value))
	}
	msg.Header.Set(HeaderMsgID, m.ID)
	if m.TraceParent != "" {
		msg.Header.Set(broker.AttrTraceParent, m.TraceParent)
	}
	if m.TraceState != "" {
		msg.Header.Set(broker.AttrTraceState, m.TraceState)
	}
	return msg
}

// Decode reads a message written by [Encode] (or any producer following
// the binding's binary mode). Header names are matched case-insensitively.
func Decode(msg *nats.Msg) (broker.Message, error) {
	attrs := map[string]string{}
	var names []string
	var bad []string
	for k, vs := range msg.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, HeaderPrefix) || len(vs) == 0 {
			continue
		}
		name := lk[len(HeaderPrefix):]
		v, err := PercentDecode(unquote(vs[0]))
		if err != nil {
			bad = append(bad, fmt.Sprintf("header %s: %v", k, err))
		}
		attrs[name] = v
		names = append(names, name)
	}
	m, err := broker.FromAttributes(func(name string) (string, bool) {
		v, ok := attrs[name]
		return v, ok
	}, names, msg.Data)
	if len(bad) > 0 {
		return m, &broker.InvalidMessageError{ID: m.ID, Reason: strings.Join(bad, "; ")}
	}
	return m, err
}

// unquote removes an RFC 7230 quoted-string's quotes and backslash
// escapes, which the binding asks receivers to accept.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	inner := v[1 : len(v)-1]
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' && i+1 < len(inner) {
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String()
}

// PercentEncode encodes an attribute value as the NATS binding asks: space,
// double quote, percent and every byte outside printable ASCII become %XY.
func PercentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEncoding(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEncoding(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func needsEncoding(c byte) bool { return c <= 0x20 || c == '"' || c == '%' || c >= 0x7f }

// PercentDecode undoes [PercentEncode], accepting lower-case hex digits and
// needlessly encoded characters; it refuses a malformed escape and a result
// that is not UTF-8.
func PercentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape %q", s[i:i+3])
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%q decodes to invalid UTF-8", s)
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
