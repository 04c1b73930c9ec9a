package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/eventstore"
	esmem "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/logtest"
	"github.com/chronicle-go/chronicle/relay"
)

// losableClaims hands out claims whose loss the test decides.
type losableClaims struct {
	*relay.MemoryStore
	claims chan *losableClaim
}

type losableClaim struct {
	relay.Claim
	lost chan struct{}
}

func (c *losableClaim) Lost() <-chan struct{} { return c.lost }

func (s *losableClaims) Claim(ctx context.Context, name string, filter eventstore.Filter) (relay.Claim, error) {
	c, err := s.MemoryStore.Claim(ctx, name, filter)
	if err != nil {
		return nil, err
	}
	lc := &losableClaim{Claim: c, lost: make(chan struct{})}
	s.claims <- lc
	return lc, nil
}

// The relay reads the log through the batching reader the projection
// runner and the saga engine share (internal/batch), whose race d553e37
// fixed: the reader goroutine may see a cancellation first. Whichever of
// the reader and the relay sees it first, and whether it comes while a
// message is being published or while the relay waits for events, the
// relay must stop for the right reason: on the end of its context,
// quietly; on the loss of its claim, saying so (and claiming again); never
// as a publishing failure. Every event is published, in order. Many runs:
// the outcome of a select with two ready cases is random.
func TestRelayStopsForTheContextOrTheClaim(t *testing.T) {
	ctx := context.Background()
	store := esmem.New(esmem.Config{})
	b := memory.New()
	b.Bind("q", "Poked")
	state := &losableClaims{MemoryStore: relay.NewMemoryStore(), claims: make(chan *losableClaim, 8)}
	logs := &logtest.Recorder{}
	var gate sync.Mutex
	var gated string
	entering, proceed := make(chan struct{}), make(chan struct{})
	r, err := relay.New(store, state, b, relay.Config{
		Name: "pokes", Source: "/test",
		CheckpointInterval: time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Logger: slog.New(logs),
		Hooks: relay.Hooks{Publish: func(_ context.Context, e eventstore.RecordedEvent, _ *broker.Message) func(error) {
			gate.Lock()
			held := e.StreamID == gated
			if held {
				gated = "" // once: after a cut, it is published again freely
			}
			gate.Unlock()
			if held {
				entering <- struct{}{}
				<-proceed
			}
			return nil
		}},
	})
	require.NoError(t, err)
	const lostMsg, failedMsg = "lost ownership; claiming again", "publishing failed"
	const runs = 200
	var head eventstore.Position // the last event appended
	for run := range runs {
		loseClaim, duringPublish := run%2 == 1, run%4 >= 2
		stream := fmt.Sprintf("race-%d", run)
		gate.Lock()
		gated = stream
		gate.Unlock()
		_, logged := logs.Since(0)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		claim := <-state.claims
		res, err := store.Append(ctx, stream, eventstore.Any, eventstore.NewEvent("Poked", []byte(`{}`)))
		require.NoError(t, err)
		head = res.Positions[0]
		<-entering
		stop := func() {
			if loseClaim {
				close(claim.lost)
			} else {
				cancel()
			}
		}
		if duringPublish {
			stop()
			time.Sleep(time.Millisecond) // let the reader goroutine see it first
			proceed <- struct{}{}
		} else {
			proceed <- struct{}{}
			require.Eventually(t, func() bool {
				recs, err := state.Records(ctx)
				return err == nil && len(recs) == 1 && !recs[0].Checkpoint.Before(res.Positions[0])
			}, 20*time.Second, time.Millisecond, "run %d: the event's checkpoint", run)
			stop() // the relay waits for events, or is about to
		}
		if loseClaim {
			require.Eventually(t, func() bool {
				lines, _ := logs.Since(logged)
				return strings.Contains(strings.Join(lines, "\n"), lostMsg)
			}, 20*time.Second, time.Millisecond, "run %d: the relay to say it lost its claim", run)
			<-state.claims // it claimed again
			cancel()
		}
		require.NoError(t, <-done, "run %d", run)
		for drained := false; !drained; {
			select {
			case <-state.claims: // a claim after the loss, taken before the cancellation
			default:
				drained = true
			}
		}
		lines, _ := logs.Since(logged)
		var lost []string
		for _, l := range lines {
			require.False(t, strings.HasPrefix(l, failedMsg), "run %d (during a publish %v): the relay logged %q", run, duringPublish, lines)
			if strings.HasPrefix(l, lostMsg) {
				lost = append(lost, l)
			}
		}
		if loseClaim {
			require.True(t, len(lost) == 1 && strings.HasSuffix(lost[0], ": "+relay.ErrClaimLost.Error()),
				"run %d (during a publish %v): the claim was lost; the relay logged %q", run, duringPublish, lines)
		} else {
			require.Empty(t, lost, "run %d (during a publish %v): the context ended; the relay logged %q", run, duringPublish, lines)
		}
	}
	// Every event reaches the broker, in log order: a publish a stop cut
	// short is published again from the checkpoint, by the next owner.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	<-state.claims
	require.Eventually(t, func() bool {
		recs, err := state.Records(ctx)
		return err == nil && !recs[0].Checkpoint.Before(head)
	}, 20*time.Second, time.Millisecond, "the checkpoint to reach the head")
	cancel()
	require.NoError(t, <-done)
	ds, err := b.Consumer("q").Receive(ctx, 10*runs)
	require.NoError(t, err)
	var last eventstore.Position
	seen := map[string]bool{}
	for _, d := range ds {
		m, _ := d.Message()
		if !seen[m.ID] {
			require.True(t, m.Position.After(last), "first deliveries in log order")
			last = m.Position
		}
		seen[m.ID] = true
	}
	var missing []string
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		require.NoError(t, err)
		if !seen[e.ID.String()] {
			missing = append(missing, fmt.Sprintf("%s at %v", e.StreamID, e.Position))
		}
	}
	recs, err := state.Records(ctx)
	require.NoError(t, err)
	require.Empty(t, missing, "never published; the checkpoint is at %v", recs[0].Checkpoint)
	require.Len(t, seen, runs)
}
