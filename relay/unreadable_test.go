package relay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/eventstore"
	esmem "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/unreadable"
	"github.com/chronicle-go/chronicle/relay"
)

// TestUnreadableEvent: a relay whose read fails on an event the store
// cannot return reads it ReadAttempts times, then parks it (what the
// store's error named, and the error), moves past it and publishes every
// event after it exactly once. The status shows it without reading it
// again. A retry while the event is still unreadable keeps it parked with
// the new error; a retry once it reads publishes it; a skip forgets it.
func TestUnreadableEvent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inner := esmem.New(esmem.Config{})
	var events []eventstore.RecordedEvent
	for i := range 10 {
		res, err := inner.Append(ctx, fmt.Sprintf("order-%d", i), eventstore.NoStream, eventstore.NewEvent("OrderPlaced", fmt.Appendf(nil, `{"n":%d}`, i)))
		require.NoError(t, err)
		for e, err := range inner.ReadStream(ctx, fmt.Sprintf("order-%d", i), eventstore.ReadStreamOptions{}) {
			require.NoError(t, err)
			require.Equal(t, res.Positions[0], e.Position)
			events = append(events, e)
		}
	}
	bad, other := events[3], events[7]
	store := unreadable.Wrap(inner)
	store.Poison(bad.Position, -1)
	store.Poison(other.Position, -1)

	b := memory.New()
	b.Bind("q", "OrderPlaced")
	state := relay.NewMemoryStore()
	const attempts = 3
	r, err := relay.New(store, state, b, relay.Config{Name: "orders", Source: "/test", ReadAttempts: attempts,
		CheckpointInterval: time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RetryInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	parked := func() []relay.Parked {
		t.Helper()
		p, err := state.Parked(ctx, "orders")
		require.NoError(t, err)
		return p
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			require.NoError(t, ctx.Err(), "waiting for %s", what)
			time.Sleep(time.Millisecond)
		}
	}
	// The state store alone, which reads nothing from the log.
	waitFor("both unreadable events parked and the log relayed", func() bool {
		recs, err := state.Records(ctx)
		require.NoError(t, err)
		return len(recs) == 1 && recs[0].Checkpoint == events[9].Position && recs[0].Parked == 2
	})
	require.Equal(t, attempts, store.Hits(bad.Position), "reads of the unreadable event before it was parked")
	require.Equal(t, attempts, store.Hits(other.Position))
	list := parked()
	require.Len(t, list, 2)
	for i, e := range []eventstore.RecordedEvent{bad, other} {
		p := list[i]
		require.Equal(t, relay.KindUnreadable, p.Kind)
		require.Equal(t, relay.StateParked, p.State)
		require.Equal(t, e.ID.String(), p.Message.ID)
		require.Equal(t, e.StreamID, p.Message.Subject)
		require.Equal(t, e.Version, p.Message.StreamVersion)
		require.Equal(t, e.Type, p.Message.Type)
		require.Equal(t, e.Position, p.Position)
		require.Equal(t, attempts, p.Attempts)
		require.Contains(t, p.Error, "unreadable event")
		require.Contains(t, p.Error, unreadable.Cause.Error())
	}
	require.Equal(t, 8, b.Stats("q").Published, "every readable event, once")

	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, st.Parked)
	require.Equal(t, events[9].Position, st.Head)
	require.Equal(t, st.Head, st.Checkpoint)
	require.Zero(t, st.LagEvents)
	require.Equal(t, uint64(8), st.Published)
	require.Equal(t, attempts, store.Hits(bad.Position), "the status read the parked event")

	// A retry while the event is still unreadable: parked again, with the
	// new error.
	n, err := state.Retry(ctx, "orders", bad.ID.String())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	waitFor("the retry to fail", func() bool {
		p := parked()
		return len(p) == 2 && p[0].State == relay.StateParked && p[0].Attempts == attempts+1
	})
	p := parked()[0]
	require.Equal(t, relay.KindUnreadable, p.Kind)
	require.Contains(t, p.Error, "read parked event")
	require.Contains(t, p.Error, unreadable.Cause.Error())
	require.Equal(t, attempts+1, store.Hits(bad.Position))
	require.Equal(t, 8, b.Stats("q").Published)

	// Once it reads (the data was repaired), a retry publishes it.
	store.Poison(bad.Position, 0)
	_, err = state.Retry(ctx, "orders", bad.ID.String())
	require.NoError(t, err)
	waitFor("the retry to publish it", func() bool { return len(parked()) == 1 })
	require.Equal(t, other.ID.String(), parked()[0].Message.ID)
	require.Equal(t, 9, b.Stats("q").Published)

	// A skip forgets the other.
	n, err = state.Skip(ctx, "orders", other.ID.String())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, parked())
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Parked)
	require.Equal(t, uint64(9), st.Published)

	ds, err := b.Consumer("q").Receive(ctx, 100)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, d := range ds {
		m, err := d.Message()
		require.NoError(t, err)
		seen[m.ID]++
	}
	require.Len(t, seen, 9)
	for i, e := range events {
		want := 1
		if e.ID == other.ID {
			want = 0
		}
		require.Equal(t, want, seen[e.ID.String()], "event %d", i)
	}
	require.Equal(t, attempts, store.Hits(other.Position), "a skipped event is not read again")
}
