package jetstream_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/jetstream"
)

func TestPercentEncoding(t *testing.T) {
	// The binding's own example.
	require.Equal(t, "Euro%20%E2%82%AC%20%F0%9F%98%80", jetstream.PercentEncode("Euro € 😀"))
	require.Equal(t, "100%25%20%22q%22", jetstream.PercentEncode(`100% "q"`))
	for _, s := range []string{"", "plain", "Euro € 😀", `a "b" %c`} {
		got, err := jetstream.PercentDecode(jetstream.PercentEncode(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	got, err := jetstream.PercentDecode("%e2%82%ac%41")
	require.NoError(t, err, "lower-case hex and needless escapes are accepted")
	require.Equal(t, "€A", got)
	for _, bad := range []string{"%C0%A0", "%E2%82", "%zz", "%4"} {
		_, err := jetstream.PercentDecode(bad)
		require.Error(t, err, bad)
	}
}

func TestEncodeHeaders(t *testing.T) {
	m := messages(1, "OrderPlaced")[0]
	m.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msg := jetstream.Encode("s.OrderPlaced", m)
	require.Equal(t, "1.0", msg.Header.Get("ce-specversion"))
	require.Equal(t, m.ID, msg.Header.Get("ce-id"))
	require.Equal(t, m.ID, msg.Header.Get("Nats-Msg-Id"))
	require.Equal(t, "application/json", msg.Header.Get("ce-datacontenttype"))
	require.Equal(t, "1/1", msg.Header.Get("ce-chronicleposition"))
	require.Equal(t, m.TraceParent, msg.Header.Get("ce-traceparent"))
	require.Equal(t, m.TraceParent, msg.Header.Get("traceparent"))

	// Upper-case and quoted header values from another producer.
	other := nats.NewMsg("x")
	other.Header.Set("CE-SPECVERSION", "1.0")
	other.Header.Set("Ce-Id", `"a\"b"`)
	other.Header.Set("ce-source", "/elsewhere")
	other.Header.Set("ce-type", "Thing")
	got, err := jetstream.Decode(other)
	require.NoError(t, err)
	require.Equal(t, `a"b`, got.ID)

	notCE := nats.NewMsg("x")
	notCE.Data = []byte("{}")
	_, err = jetstream.Decode(notCE)
	require.ErrorIs(t, err, broker.ErrInvalidMessage)
}
