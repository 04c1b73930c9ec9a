package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/memory"
)

func msg(id, typ string) broker.Message {
	return broker.Message{ID: id, Source: "/t", Type: typ}
}

func TestRoutesAcksAndRedelivers(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	b.Bind("orders", "OrderPlaced")
	b.Bind("all")
	c, err := b.Publish(ctx, msg("1", "OrderPlaced"))
	require.NoError(t, err)
	require.NoError(t, c.Err())
	c, _ = b.Publish(ctx, msg("2", "Other"))
	require.NoError(t, c.Err())
	c, _ = b.Publish(ctx, broker.Message{ID: "3"})
	require.ErrorIs(t, c.Err(), broker.ErrInvalidMessage)

	orders := b.Consumer("orders")
	ds, err := orders.Receive(ctx, 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, ds[0].Retry(ctx, 10*time.Millisecond))
	require.Error(t, ds[0].Ack(ctx), "settled twice")
	ds, err = orders.Receive(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 2, ds[0].Attempt())
	require.NoError(t, ds[0].Ack(ctx))
	require.Equal(t, memory.QueueStats{Published: 1, Delivered: 2, Redelivered: 1, Acked: 1}, b.Stats("orders"))
	require.Equal(t, 2, b.Stats("all").Ready)

	// Receive waits for a message, and ends with the context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = orders.Receive(short, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, b.Close())
	_, err = orders.Receive(ctx, 1)
	require.ErrorIs(t, err, broker.ErrClosed)
}

func TestUnroutableIsRefused(t *testing.T) {
	b := memory.New()
	b.Bind("orders", "OrderPlaced")
	c, err := b.Publish(context.Background(), msg("1", "Nobody"))
	require.NoError(t, err)
	require.ErrorIs(t, c.Err(), broker.ErrRefused)
}
