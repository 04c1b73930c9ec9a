package broker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chronicle-go/chronicle/eventstore"
)

// SpecVersion is the CloudEvents version of every [Message].
const SpecVersion = "1.0"

// ContentTypeJSON is the data content type of events' payloads.
const ContentTypeJSON = "application/json"

// Metadata keys of an event that [FromEvent] carries as the W3C trace
// context (issue 17's tracing stores the trace context of the command that
// caused an event under these keys).
const (
	MetadataTraceParent = "traceparent"
	MetadataTraceState  = "tracestate"
)

// The CloudEvents attribute names a [Message] maps to. The chronicle
// extensions are lower-case letters only, at most 20 of them, as the
// CloudEvents naming rules ask.
const (
	AttrID              = "id"
	AttrSource          = "source"
	AttrType            = "type"
	AttrSubject         = "subject"
	AttrTime            = "time"
	AttrSpecVersion     = "specversion"
	AttrDataContentType = "datacontenttype"
	AttrPosition        = "chronicleposition"
	AttrStreamVersion   = "chronicleversion"
	AttrCorrelationID   = "chroniclecorrelation"
	AttrCausationID     = "chroniclecausation"
	AttrTraceParent     = "traceparent"
	AttrTraceState      = "tracestate"
)

var knownAttrs = []string{AttrID, AttrSource, AttrType, AttrSubject, AttrTime, AttrSpecVersion,
	AttrDataContentType, AttrPosition, AttrStreamVersion, AttrCorrelationID, AttrCausationID,
	AttrTraceParent, AttrTraceState}

// Message is an integration event: a CloudEvents 1.0 event whose data is
// the event's payload. A relay builds one per published event (by default
// with [FromEvent]); a consumer reads one per delivery.
type Message struct {
	// ID identifies the message; the relay sets it to the event ID, so a
	// message published twice is recognised as one. Required.
	ID string
	// Source names the producing context, a URI-reference such as
	// "/ecommerce/order". Required.
	Source string
	// Type is the event type ("OrderPlaced"). Required.
	Type string
	// Subject is what the event is about: the stream ID.
	Subject string
	// Time is when the event was recorded.
	Time time.Time
	// DataContentType is Data's media type ([ContentTypeJSON] for events).
	DataContentType string
	// Data is the body.
	Data []byte

	// Position is the event's place in the source log; the zero Position
	// when the message does not come from a log.
	Position eventstore.Position
	// StreamVersion is the event's version in its stream (0: not set).
	StreamVersion uint64
	// CorrelationID and CausationID are the event's metadata.
	CorrelationID string
	CausationID   string
	// TraceParent and TraceState are the W3C trace context, if any.
	TraceParent string
	TraceState  string

	// Extensions holds any other CloudEvents extension attributes: names of
	// 1 to 20 lower-case letters or digits, not one of the names above.
	Extensions map[string]string
}

// FromEvent is the default mapping of a recorded event to a message: the
// event as it is, from source.
func FromEvent(source string, e eventstore.RecordedEvent) Message {
	m := Message{
		ID:            e.ID.String(),
		Source:        source,
		Type:          e.Type,
		Subject:       e.StreamID,
		Time:          e.RecordedAt,
		Data:          e.Data,
		Position:      e.Position,
		StreamVersion: e.Version,
		CorrelationID: e.Metadata.CorrelationID,
		CausationID:   e.Metadata.CausationID,
		TraceParent:   e.Metadata.Get(MetadataTraceParent),
		TraceState:    e.Metadata.Get(MetadataTraceState),
	}
	if len(e.Data) > 0 {
		m.DataContentType = ContentTypeJSON
	}
	return m
}

// Validate reports every problem that keeps m from being a valid
// CloudEvent, as one [*InvalidMessageError].
func (m Message) Validate() error {
	var problems []string
	if m.ID == "" {
		problems = append(problems, "empty id")
	}
	if m.Source == "" {
		problems = append(problems, "empty source")
	}
	if m.Type == "" {
		problems = append(problems, "empty type")
	}
	for _, a := range m.Attributes() {
		if !utf8.ValidString(a.Value) {
			problems = append(problems, fmt.Sprintf("attribute %s is not UTF-8", a.Name))
		}
		for _, r := range a.Value {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
				problems = append(problems, fmt.Sprintf("attribute %s holds a control character", a.Name))
				break
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Extensions)) {
		if err := checkExtensionName(name); err != "" {
			problems = append(problems, fmt.Sprintf("extension %q: %s", name, err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &InvalidMessageError{ID: m.ID, Reason: strings.Join(problems, "; ")}
}

func checkExtensionName(name string) string {
	if name == "" || len(name) > 20 {
		return "want 1 to 20 characters"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') {
			return "want lower-case letters and digits only"
		}
	}
	if slices.Contains(knownAttrs, name) || name == "data" {
		return "reserved: set the Message field instead"
	}
	return ""
}

// Attribute is one CloudEvents attribute in its canonical string form.
type Attribute struct {
	Name  string
	Value string
}

// Attributes returns m's attributes in their canonical string form, in a
// fixed order (the known ones, then extensions sorted by name); attributes
// without a value are left out. Adapters write each as a header named by
// their protocol binding.
func (m Message) Attributes() []Attribute {
	out := make([]Attribute, 0, 12+len(m.Extensions))
	add := func(name, value string) {
		if value != "" {
			out = append(out, Attribute{name, value})
		}
	}
	add(AttrSpecVersion, SpecVersion)
	add(AttrID, m.ID)
	add(AttrSource, m.Source)
	add(AttrType, m.Type)
	add(AttrSubject, m.Subject)
	if !m.Time.IsZero() {
		add(AttrTime, m.Time.UTC().Format(time.RFC3339Nano))
	}
	add(AttrDataContentType, m.DataContentType)
	if !m.Position.IsZero() {
		add(AttrPosition, m.Position.String())
	}
	if m.StreamVersion > 0 {
		add(AttrStreamVersion, strconv.FormatUint(m.StreamVersion, 10))
	}
	add(AttrCorrelationID, m.CorrelationID)
	add(AttrCausationID, m.CausationID)
	add(AttrTraceParent, m.TraceParent)
	add(AttrTraceState, m.TraceState)
	for _, k := range slices.Sorted(maps.Keys(m.Extensions)) {
		add(k, m.Extensions[k])
	}
	return out
}

// FromAttributes builds a message from the attributes get finds (get
// returns an attribute's canonical string and whether it is present) and
// the body. It fails with an [*InvalidMessageError] when a required
// attribute is missing, the spec version is not 1.0, or a value does not
// parse; extensions lists the names of any further attributes present.
func FromAttributes(get func(name string) (string, bool), extensions []string, data []byte) (Message, error) {
	var problems []string
	str := func(name string) string {
		v, _ := get(name)
		return v
	}
	m := Message{
		ID:              str(AttrID),
		Source:          str(AttrSource),
		Type:            str(AttrType),
		Subject:         str(AttrSubject),
		DataContentType: str(AttrDataContentType),
		Data:            data,
		CorrelationID:   str(AttrCorrelationID),
		CausationID:     str(AttrCausationID),
		TraceParent:     str(AttrTraceParent),
		TraceState:      str(AttrTraceState),
	}
	if v, ok := get(AttrSpecVersion); !ok {
		problems = append(problems, "no specversion: not a CloudEvent")
	} else if v != SpecVersion {
		problems = append(problems, fmt.Sprintf("specversion %q, want %s", v, SpecVersion))
	}
	for name, v := range map[string]string{AttrID: m.ID, AttrSource: m.Source, AttrType: m.Type} {
		if v == "" {
			problems = append(problems, "no "+name)
		}
	}
	if v, ok := get(AttrTime); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("time %q is not RFC 3339", v))
		}
		m.Time = t
	}
	if v, ok := get(AttrPosition); ok {
		p, err := eventstore.ParsePosition(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q: want commit/prepare", AttrPosition, v))
		}
		m.Position = p
	}
	if v, ok := get(AttrStreamVersion); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q: want a number", AttrStreamVersion, v))
		}
		m.StreamVersion = n
	}
	for _, name := range extensions {
		if slices.Contains(knownAttrs, name) {
			continue
		}
		if m.Extensions == nil {
			m.Extensions = map[string]string{}
		}
		m.Extensions[name] = str(name)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return m, &InvalidMessageError{ID: m.ID, Reason: strings.Join(problems, "; ")}
	}
	return m, nil
}
