package rabbitmq

import (
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chronicle-go/chronicle/broker"
)

// HeaderPrefix starts every CloudEvents attribute header (the AMQP
// binding's application-property prefix with the '_' separator). Decoding
// also accepts the "cloudEvents:" form.
const HeaderPrefix = "cloudEvents_"

// Encode returns m as an AMQP publishing in CloudEvents binary content
// mode: persistent, with message-id m.ID.
func Encode(m broker.Message) amqp.Publishing {
	h := amqp.Table{}
	for _, a := range m.Attributes() {
		if a.Name == broker.AttrDataContentType {
			continue // the content-type property
		}
		h[HeaderPrefix+a.Name] = a.Value
	}
	if m.TraceParent != "" {
		h[broker.AttrTraceParent] = m.TraceParent
	}
	if m.TraceState != "" {
		h[broker.AttrTraceState] = m.TraceState
	}
	return amqp.Publishing{
		Headers:      h,
		ContentType:  m.DataContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    m.ID,
		Type:         m.Type,
		Timestamp:    m.Time,
		Body:         m.Data,
	}
}

// Decode reads a delivery written by [Encode] (or any producer following
// the binding's binary mode, with either separator).
func Decode(d amqp.Delivery) (broker.Message, error) {
	attrs := map[string]string{}
	var names []string
	var bad []string
	for k, v := range d.Headers {
		var name string
		switch {
		case strings.HasPrefix(k, "cloudEvents_"), strings.HasPrefix(k, "cloudEvents:"):
			name = strings.ToLower(k[len("cloudEvents_"):])
		default:
			continue
		}
		s, ok := v.(string)
		if !ok {
			// Native AMQP types are allowed; read their string form.
			switch x := v.(type) {
			case []byte:
				s = string(x)
			case int64, int32, int16, int8, int, uint8, uint16, uint32, uint64, bool:
				s = fmt.Sprint(x)
			default:
				bad = append(bad, fmt.Sprintf("header %s: unsupported type %T", k, v))
				continue
			}
		}
		attrs[name] = s
		names = append(names, name)
	}
	if d.ContentType != "" {
		attrs[broker.AttrDataContentType] = d.ContentType
	}
	m, err := broker.FromAttributes(func(name string) (string, bool) {
		v, ok := attrs[name]
		return v, ok
	}, names, d.Body)
	if len(bad) > 0 {
		return m, &broker.InvalidMessageError{ID: m.ID, Reason: strings.Join(bad, "; ")}
	}
	return m, err
}
