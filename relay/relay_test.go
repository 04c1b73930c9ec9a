package relay_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/eventstore"
	esmem "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/relay"
)

// TestEmbedded relays a memory log to the in-process broker: selected,
// mapped, parked on a mapping error and on an unroutable type, in order,
// with the hooks called once per message.
func TestEmbedded(t *testing.T) {
	ctx := context.Background()
	store := esmem.New(esmem.Config{})
	b := memory.New()
	b.Bind("q", "OrderPlaced", "OrderShipped")
	for i := range 100 {
		typ := "OrderPlaced"
		switch {
		case i == 10:
			typ = "Unrouted"
		case i%10 == 5:
			typ = "Internal" // filtered out
		case i == 20:
			typ = "OrderShipped"
		}
		_, err := store.Append(ctx, fmt.Sprintf("order-%d", i%3), eventstore.Any, eventstore.NewEvent(typ, fmt.Appendf(nil, `{"n":%d}`, i)))
		require.NoError(t, err)
	}
	var mu sync.Mutex
	hooked, answered := 0, 0
	state := relay.NewMemoryStore()
	r, err := relay.New(store, state, b, relay.Config{
		Name:   "orders",
		Source: "/test",
		Filter: eventstore.Filter{EventTypes: []string{"OrderPlaced", "OrderShipped", "Unrouted"}},
		Select: func(e eventstore.RecordedEvent) bool { return e.StreamID != "order-2" || e.Type != "OrderShipped" },
		Map: func(e eventstore.RecordedEvent) (broker.Message, error) {
			if string(e.Data) == `{"n":30}` {
				return broker.Message{}, errors.New("no contract for this one")
			}
			m := broker.FromEvent("/test", e)
			m.Type = "shop." + e.Type
			return m, nil
		},
		Hooks: relay.Hooks{Publish: func(ctx context.Context, e eventstore.RecordedEvent, m *broker.Message) func(error) {
			mu.Lock()
			hooked++
			mu.Unlock()
			m.Extensions = map[string]string{"hooked": "yes"}
			return func(error) { mu.Lock(); answered++; mu.Unlock() }
		}},
		CheckpointInterval: time.Millisecond,
	})
	require.NoError(t, err)
	// The mapped types are what the queue must be bound to.
	b.Bind("q", "shop.OrderPlaced", "shop.OrderShipped")
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := r.Status(ctx)
		require.NoError(t, err)
		if st.LagEvents == 0 && st.Parked == 2 {
			require.Equal(t, st.Head, st.Checkpoint)
			require.True(t, st.Owned)
			break
		}
		require.True(t, time.Now().Before(deadline), "status %+v", st)
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done

	// 100 events: 10 filtered out, 1 not selected, 1 mapping failure, 1 unroutable.
	ds, err := b.Consumer("q").Receive(ctx, 1000)
	require.NoError(t, err)
	require.Len(t, ds, 87)
	last := eventstore.Position{}
	for _, d := range ds {
		m, _ := d.Message()
		require.True(t, m.Position.After(last), "in log order")
		last = m.Position
		require.Equal(t, "yes", m.Extensions["hooked"])
	}
	mu.Lock()
	require.Equal(t, 88, hooked, "every published message, the refused one too")
	require.Equal(t, 88, answered)
	mu.Unlock()
	parked, err := state.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Len(t, parked, 2)
	require.Contains(t, parked[0].Error, "refused")
	require.Contains(t, parked[1].Error, "no contract")
	recs, _ := state.Records(ctx)
	require.Equal(t, uint64(87), recs[0].Published)
}

func TestConfig(t *testing.T) {
	err := relay.Config{BatchSize: -1}.Validate()
	require.ErrorContains(t, err, "name")
	require.ErrorContains(t, err, "Source")
	require.ErrorContains(t, err, "BatchSize")
	_, err = relay.New(nil, nil, nil, relay.Config{Name: "x", Source: "/x"})
	require.ErrorContains(t, err, "nil event store")
	require.ErrorContains(t, err, "nil state store")
	require.ErrorContains(t, err, "nil publisher")
}
