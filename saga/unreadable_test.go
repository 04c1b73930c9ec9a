package saga_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/internal/unreadable"
	"github.com/chronicle-go/chronicle/saga"
)

// An event the store cannot return is handled like one whose handler keeps
// failing: read again HandlerAttempts times, then parked (without an
// instance: it could not be routed) with the store's error, and the engine
// goes on after it. A read that fails once and then succeeds is handled
// normally.
func TestUnreadableEventParked(t *testing.T) {
	r := newRig(t, nil)
	events := unreadable.Wrap(r.events)
	e, err := saga.NewEngine(r.def, r.store, events, noSend(), saga.Config{HandlerAttempts: 3, HandlerBackoff: time.Millisecond})
	require.NoError(t, err)
	r.append(t, started{"a"}, "Started", "s-a")
	r.append(t, poked{"a", 1}, "Poked", "s-a")
	bad := r.append(t, poked{"a", 2}, "Poked", "s-a")
	flaky := r.append(t, poked{"a", 3}, "Poked", "s-a")
	r.append(t, poked{"a", 4}, "Poked", "s-a")
	events.Poison(bad.Position, -1)
	events.Poison(flaky.Position, 1)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitState(t, e, "a", `{"Pokes":3}`) // 1, 3 and 4; 2 was unreadable

	parked, err := e.Parked(t.Context())
	require.NoError(t, err)
	require.Len(t, parked, 1)
	p := parked[0]
	assert.Equal(t, bad.ID, p.EventID)
	assert.Equal(t, bad.Position, p.Position)
	assert.Equal(t, "Poked", p.EventType)
	assert.Equal(t, "s-a", p.StreamID)
	assert.Equal(t, uint64(3), p.Version)
	assert.Equal(t, "", p.Instance)
	assert.Equal(t, 3, p.Attempts)
	assert.True(t, strings.Contains(p.Error, "unreadable event") && strings.Contains(p.Error, unreadable.Cause.Error()), p.Error)
	assert.Equal(t, 3, events.Hits(bad.Position))
	assert.Equal(t, 1, events.Hits(flaky.Position))
	pos, err := r.store.Checkpoint(t.Context(), "pokes")
	require.NoError(t, err)
	assert.Equal(t, uint64(5), pos.Commit)
}
