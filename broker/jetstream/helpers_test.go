package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/brokertest"
)

// setup connects to the test server (through addr when not empty) and
// provisions a stream of the test's own, deleted when the test ends; it
// returns the connection, the stream's name and its subject prefix.
func setup(t *testing.T, addr string, sc StreamOpts) (*nats.Conn, string, string) {
	t.Helper()
	url := brokertest.RequireNATS(t)
	name := brokertest.Name(t, "chr")
	prefix := name
	admin, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(admin.Close)
	js, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := jsProvision(ctx, admin, name, prefix, sc); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, name); err != nil {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
	if addr != "" {
		url = brokertest.WithHost(url, addr)
	}
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(0, 0), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, name, prefix
}

type StreamOpts struct {
	MaxMsgSize int32
}

// messages returns n valid messages of type typ with new event IDs.
func messages(n int, typ string) []broker.Message {
	out := make([]broker.Message, n)
	for i := range out {
		out[i] = broker.Message{ID: uuid.Must(uuid.NewV7()).String(), Source: "/test", Type: typ,
			Subject: fmt.Sprintf("order-%d", i%7), Time: time.Now().UTC(), DataContentType: broker.ContentTypeJSON,
			Data: fmt.Appendf(nil, `{"n":%d}`, i), Position: eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)},
			StreamVersion: uint64(i/7 + 1), CorrelationID: fmt.Sprintf("corr-%d", i)}
	}
	return out
}

// streamIDs returns the Nats-Msg-Id of every message stored in stream, in
// stream order.
func streamIDs(t *testing.T, nc *nats.Conn, stream string) []string {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		ids = append(ids, m.Header.Get("Nats-Msg-Id"))
	}
	return ids
}
