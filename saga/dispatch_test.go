package saga_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
)

type ring struct {
	ID string `json:"id"`
}

// A send whose outcome is unknown (the command's events may be stored) is
// not a failure of the receiver: the dispatcher sends it again, with the
// same ID, after RetryMin, not after the back-off its earlier failures grew.
func TestDispatchSendsAnUnknownOutcomeAgainSoon(t *testing.T) {
	ctx := t.Context()
	events := esmemory.New(esmemory.Config{})
	t.Cleanup(func() { _ = events.Close() })
	commands := eventstore.NewRegistry(nil)
	eventstore.MustRegister[ring](commands, "Ring")
	d := saga.New[counter]("rings", saga.Options{Events: testEvents(), Commands: commands})
	saga.Start(d, "Started", func(e started) string { return e.ID }, func(_ context.Context, s *saga.Scope[counter], e started) error {
		s.Send(ring{e.ID})
		return nil
	})
	clock := saga.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	answers := []error{errors.New("down"), errors.New("down"), errors.New("down"),
		&eventstore.OutcomeUnknownError{Stream: "bell", Expected: eventstore.Any, Err: errors.New("reply lost")}, nil}
	var sent []uuid.UUID
	sender := saga.SenderFunc(func(_ context.Context, c command.Command) error {
		sent = append(sent, c.ID)
		err := answers[0]
		answers = answers[1:]
		return err
	})
	e, err := saga.NewEngine(d, memory.New(), events, sender, saga.Config{Clock: clock, RetryMin: time.Second, RetryMax: time.Hour})
	require.NoError(t, err)

	_, err = events.Append(ctx, "s", eventstore.NoStream, eventstore.NewEvent("Started", []byte(`{"id":"r-1"}`)))
	require.NoError(t, err)
	var rec eventstore.RecordedEvent
	for ev, err := range events.ReadStream(ctx, "s", eventstore.ReadStreamOptions{}) {
		require.NoError(t, err)
		rec = ev
	}
	require.NoError(t, e.HandleEvents(ctx, rec))

	var gaps []time.Duration
	for range 4 {
		n, err := e.Dispatch(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		failing, err := e.FailingCommands(ctx)
		require.NoError(t, err)
		require.Len(t, failing, 1)
		gaps = append(gaps, failing[0].NextAttempt.Sub(clock.Now()))
		// (The clock keeps microseconds; the jittered back-off does not.)
		clock.Set(failing[0].NextAttempt.Add(time.Microsecond))
	}
	// Three failures grow the back-off; the unknown outcome does not.
	assert.Greater(t, gaps[2], gaps[0], "the back-off grows with failures: %v", gaps)
	assert.Equal(t, time.Second, gaps[3], "after an unknown outcome the command is due again after RetryMin: %v", gaps)
	n, err := e.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	failing, err := e.FailingCommands(ctx)
	require.NoError(t, err)
	assert.Empty(t, failing)
	require.Len(t, sent, 5)
	for _, id := range sent {
		assert.Equal(t, sent[0], id, "every send carries the command's ID")
	}
}
