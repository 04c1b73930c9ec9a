package eventstore

import (
	"maps"
	"time"

	"github.com/google/uuid"
)

// Event is an event to append.
type Event struct {
	// ID identifies the event in the whole store. Appending an event whose ID
	// is already stored is either an idempotent retry or a conflict (see
	// [Store]). A zero ID is replaced by a new UUID v7 on append, so IDs sort
	// by time; callers that want idempotent retries set IDs themselves.
	ID uuid.UUID
	// Type is a stable name for the event's kind ("OrderPlaced"), not a Go
	// type name: renaming a Go type must never orphan stored events.
	Type string
	// Data is the payload: a JSON document, or empty. Every store keeps it
	// byte for byte: a read returns the bytes appended, key order, white
	// space and the spelling of numbers included, and so never more of them.
	Data []byte
	// Metadata travels with the event: correlation, causation, free keys.
	Metadata Metadata
}

// NewEvent returns an event of the given type and payload with a new UUID v7
// as its ID.
func NewEvent(eventType string, data []byte) Event {
	return Event{ID: NewEventID(), Type: eventType, Data: data}
}

// NewEventID returns a new UUID v7: unique, and sorting by creation time.
func NewEventID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// RecordedEvent is an event as the store recorded it.
type RecordedEvent struct {
	Event
	// StreamID is the stream the event belongs to.
	StreamID string
	// Version is the event's 1-based place in its stream.
	Version uint64
	// Position is the event's place in the global log.
	Position Position
	// RecordedAt is when the store recorded the event (UTC).
	RecordedAt time.Time
}

// Metadata is what travels with an event beside its payload.
//
// Stores return Metadata values that may share their maps with the store's
// own copy: treat them as read-only, and use [Metadata.Clone] before changing
// one.
type Metadata struct {
	// CorrelationID ties together every event caused, directly or not, by one
	// original request (an order ID, a request ID).
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the ID of the command or event that directly caused this
	// event.
	CausationID string `json:"causation_id,omitempty"`
	// SchemaVersion is the version of the payload's shape, used by the type
	// registry's upcasters. Zero means version 1.
	SchemaVersion int `json:"schema_version,omitempty"`
	// Values holds free-form string keys.
	Values map[string]string `json:"values,omitempty"`
}

// Get returns the free-form value stored under key.
func (m Metadata) Get(key string) string { return m.Values[key] }

// With returns a copy of m with key set to value; m itself is not changed.
func (m Metadata) With(key, value string) Metadata {
	c := m.Clone()
	if c.Values == nil {
		c.Values = make(map[string]string, 1)
	}
	c.Values[key] = value
	return c
}

// Clone returns a deep copy of m.
func (m Metadata) Clone() Metadata {
	m.Values = maps.Clone(m.Values)
	return m
}

// IsZero reports whether m holds nothing.
func (m Metadata) IsZero() bool {
	return m.CorrelationID == "" && m.CausationID == "" && m.SchemaVersion == 0 && len(m.Values) == 0
}

// size is the number of bytes m adds to an event, for size limits.
func (m Metadata) size() int {
	n := len(m.CorrelationID) + len(m.CausationID)
	for k, v := range m.Values {
		n += len(k) + len(v)
	}
	return n
}
