package jetstream

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect dials the NATS server at url with settings fit for a relay or an
// inbox: reconnect for ever, every 50ms to 2s with jitter, and a 10s
// connect timeout. name labels the connection on the server.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(50*time.Millisecond, 500*time.Millisecond),
		nats.Timeout(10*time.Second), nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, fmt.Errorf("broker/jetstream: connect: %w", err)
	}
	return nc, nil
}

// DeleteStream deletes the stream name (for tests and tear-down).
func DeleteStream(ctx context.Context, nc *nats.Conn, name string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return js.DeleteStream(ctx, name)
}
