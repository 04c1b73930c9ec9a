package broker_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
)

func TestFromEventAndBack(t *testing.T) {
	e := eventstore.RecordedEvent{
		Event: eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "OrderPlaced", Data: []byte(`{"a":1}`),
			Metadata: eventstore.Metadata{CorrelationID: "o-1", CausationID: "c-1"}.With(broker.MetadataTraceParent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
		StreamID: "order-1", Version: 3, Position: eventstore.Position{Commit: 9, Prepare: 4},
		RecordedAt: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC),
	}
	m := broker.FromEvent("/shop/order", e)
	require.NoError(t, m.Validate())
	attrs := map[string]string{}
	var names []string
	for _, a := range m.Attributes() {
		attrs[a.Name] = a.Value
		names = append(names, a.Name)
	}
	require.Equal(t, map[string]string{
		"specversion": "1.0", "id": e.ID.String(), "source": "/shop/order", "type": "OrderPlaced",
		"subject": "order-1", "time": "2026-01-02T03:04:05.000006789Z", "datacontenttype": "application/json",
		"chronicleposition": "9/4", "chronicleversion": "3", "chroniclecorrelation": "o-1",
		"chroniclecausation": "c-1", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	}, attrs)
	back, err := broker.FromAttributes(func(n string) (string, bool) { v, ok := attrs[n]; return v, ok }, names, m.Data)
	require.NoError(t, err)
	require.Equal(t, m, back)
}

func TestFromAttributesRefusesWhatIsNotACloudEvent(t *testing.T) {
	attrs := map[string]string{"specversion": "0.3", "time": "yesterday", "chronicleposition": "x", "chronicleversion": "-1"}
	_, err := broker.FromAttributes(func(n string) (string, bool) { v, ok := attrs[n]; return v, ok }, nil, nil)
	require.ErrorIs(t, err, broker.ErrInvalidMessage)
	for _, want := range []string{"specversion", "no id", "no source", "no type", "time", "chronicleposition", "chronicleversion"} {
		require.ErrorContains(t, err, want)
	}
}

func TestValidate(t *testing.T) {
	err := broker.Message{Extensions: map[string]string{"Bad-Name": "x", "id": "y", "ok": "a\x01b"}}.Validate()
	require.ErrorIs(t, err, broker.ErrInvalidMessage)
	for _, want := range []string{"empty id", "empty source", "empty type", "Bad-Name", `"id"`, "control character"} {
		require.ErrorContains(t, err, want)
	}
	require.False(t, broker.IsPermanent(nil))
	require.True(t, broker.IsPermanent(&broker.RefusedError{ID: "x", Reason: "no route"}))
}
