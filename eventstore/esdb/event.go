package esdb

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// Keys of the user metadata JSON object that chronicle writes with every
// event. $correlationId and $causationId are EventStoreDB's own convention,
// which its projections ($by_correlation_id) and UI understand.
const (
	MetadataCorrelationID = "$correlationId"
	MetadataCausationID   = "$causationId"
	MetadataSchemaVersion = "$schemaVersion"
	// MetadataRaw is the [eventstore.Metadata.Values] key under which a read
	// returns an event's user metadata verbatim when it is not a JSON object
	// (events written by other tools); nothing is dropped.
	MetadataRaw = "$raw"
)

// encodeMetadata turns md into the event's user metadata: one flat JSON
// object of strings. A free key that starts with "$" (the prefix EventStoreDB
// reserves for system keys) is stored with one more "$" in front, so it can
// never be mistaken for a system key; reads strip it again.
func encodeMetadata(md eventstore.Metadata) ([]byte, error) {
	if md.IsZero() {
		return nil, nil
	}
	m := make(map[string]string, len(md.Values)+3)
	for k, v := range md.Values {
		if strings.HasPrefix(k, "$") {
			k = "$" + k
		}
		m[k] = v
	}
	if md.CorrelationID != "" {
		m[MetadataCorrelationID] = md.CorrelationID
	}
	if md.CausationID != "" {
		m[MetadataCausationID] = md.CausationID
	}
	if md.SchemaVersion != 0 {
		m[MetadataSchemaVersion] = strconv.Itoa(md.SchemaVersion)
	}
	return json.Marshal(m)
}

// decodeMetadata reads what encodeMetadata wrote, and also what other
// writers put there: non-string values are kept as their JSON text, and
// metadata that is not a JSON object is kept whole under [MetadataRaw].
func decodeMetadata(raw []byte) eventstore.Metadata {
	var md eventstore.Metadata
	if len(bytes.TrimSpace(raw)) == 0 {
		return md
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		md.Values = map[string]string{MetadataRaw: string(raw)}
		return md
	}
	for k, v := range m {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			s = string(v) // a number, an object, ...: keep its JSON text
		}
		switch {
		case k == MetadataCorrelationID:
			md.CorrelationID = s
			continue
		case k == MetadataCausationID:
			md.CausationID = s
			continue
		case k == MetadataSchemaVersion:
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				md.SchemaVersion = n
				continue
			}
		case strings.HasPrefix(k, "$$"):
			k = k[1:]
		}
		if md.Values == nil {
			md.Values = make(map[string]string, len(m))
		}
		md.Values[k] = s
	}
	return md
}

// toEventData turns a chronicle event into the client's: JSON content,
// chronicle's metadata as the user metadata.
func toEventData(e eventstore.Event) (kurrentdb.EventData, error) {
	md, err := encodeMetadata(e.Metadata)
	if err != nil {
		return kurrentdb.EventData{}, err
	}
	return kurrentdb.EventData{
		EventID:     e.ID,
		EventType:   e.Type,
		ContentType: kurrentdb.ContentTypeJson,
		Data:        e.Data,
		Metadata:    md,
	}, nil
}

// fromRecorded turns an event read from the server into chronicle's.
func fromRecorded(r *kurrentdb.RecordedEvent) eventstore.RecordedEvent {
	var data []byte
	if len(r.Data) > 0 {
		data = r.Data
	}
	return eventstore.RecordedEvent{
		Event: eventstore.Event{
			ID:       r.EventID,
			Type:     r.EventType,
			Data:     data,
			Metadata: decodeMetadata(r.UserMetadata),
		},
		StreamID:   r.StreamID,
		Version:    r.EventNumber + 1, // revisions are 0-based, versions 1-based
		Position:   fromPosition(r.Position),
		RecordedAt: r.CreatedDate.UTC(),
	}
}

// fromPosition maps a $all position 1:1. The server sends -1 (the largest
// uint64 on the wire) for a position it does not know, which older
// EventStoreDB releases do for events read from a stream; that becomes the
// zero Position.
func fromPosition(p kurrentdb.Position) eventstore.Position {
	if p.Commit == math.MaxUint64 || p.Prepare == math.MaxUint64 {
		return eventstore.Position{}
	}
	return eventstore.Position{Commit: p.Commit, Prepare: p.Prepare}
}

func toPosition(p eventstore.Position) kurrentdb.Position {
	return kurrentdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// isSystem reports whether an event belongs to EventStoreDB itself: its
// type or its stream starts with "$" ($metadata, $statistics, link events
// "$>", projection state, ...).
func isSystem(stream, eventType string) bool {
	return strings.HasPrefix(stream, "$") || strings.HasPrefix(eventType, "$")
}
