package saga_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// TestRetryParked: a parked event, retried after its cause is fixed, is
// handled (out of order: the instance had moved on), leaves the parked
// list in the same commit, and says so in the history; a retry that fails
// again parks it anew; a second retry of the same event is refused.
func TestRetryParked(t *testing.T) {
	r := newRig(t, nil)
	ctx := t.Context()
	r.fails[2] = &atomic.Int32{}
	r.fails[2].Store(-1) // always fails, until fixed
	evs := []eventstore.RecordedEvent{
		r.append(t, started{"a"}, "Started", "s-a"),
		r.append(t, poked{"a", 1}, "Poked", "s-a"),
		r.append(t, poked{"a", 2}, "Poked", "s-a"),
		r.append(t, poked{"a", 3}, "Poked", "s-a"),
	}
	require.NoError(t, r.engine.HandleEvents(ctx, evs...))
	parked, err := r.engine.Parked(ctx)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, evs[2].ID, parked[0].EventID)

	// Still broken: parked again, with a fresh error, once.
	err = r.engine.RetryParked(ctx, evs[2].ID)
	require.ErrorIs(t, err, saga.ErrParkedAgain)
	assert.Contains(t, err.Error(), "poke 2 refused")
	parked, err = r.engine.Parked(ctx)
	require.NoError(t, err)
	require.Len(t, parked, 1, "the retry replaced the parked event, it did not add one")

	// Fixed: handled now, although the instance has passed it.
	r.fails[2].Store(0)
	require.NoError(t, r.engine.RetryParked(ctx, evs[2].ID))
	parked, err = r.engine.Parked(ctx)
	require.NoError(t, err)
	assert.Empty(t, parked)
	h, err := r.engine.History(ctx, "a")
	require.NoError(t, err)
	assert.JSONEq(t, `{"Pokes":3}`, string(h.Instance.State), "pokes 1, 3 and the retried 2")
	assert.Equal(t, evs[3].Position, h.Instance.Position, "the instance's position does not move back")
	last := h.Entries[len(h.Entries)-1]
	assert.Equal(t, saga.EventHandled, last.Kind)
	assert.Equal(t, evs[2].ID, last.EventID)
	assert.Contains(t, last.Detail, "retried")

	// Delivered again by the subscription, the event is a duplicate.
	require.NoError(t, r.engine.HandleEvents(ctx, evs[2]))
	h, err = r.engine.History(ctx, "a")
	require.NoError(t, err)
	assert.JSONEq(t, `{"Pokes":3}`, string(h.Instance.State))

	require.ErrorIs(t, r.engine.RetryParked(ctx, evs[2].ID), saga.ErrNotParked)
	require.ErrorIs(t, r.engine.RetryParked(ctx, evs[1].ID), saga.ErrNotParked)
}

// TestRetryParkedRace: of operators retrying one parked event at once,
// exactly one handles it.
func TestRetryParkedRace(t *testing.T) {
	r := newRig(t, nil)
	ctx := t.Context()
	r.fails[2] = &atomic.Int32{}
	r.fails[2].Store(-1)
	evs := []eventstore.RecordedEvent{
		r.append(t, started{"a"}, "Started", "s-a"),
		r.append(t, poked{"a", 2}, "Poked", "s-a"),
	}
	require.NoError(t, r.engine.HandleEvents(ctx, evs...))
	r.fails[2].Store(0)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = r.engine.RetryParked(ctx, evs[1].ID) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, saga.ErrNotParked):
			t.Errorf("retry: %v", err)
		}
	}
	assert.Equal(t, 1, ok, "exactly one retry handles the event")
	h, err := r.engine.History(ctx, "a")
	require.NoError(t, err)
	assert.JSONEq(t, `{"Pokes":1}`, string(h.Instance.State))
}
