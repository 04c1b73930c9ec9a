package saga_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
)

// A saga that sends a ping for every start, through a sender an
// operator's gate holds back; its store, events and engine report to sdk.
func pingSaga(t *testing.T, sdk *telemetrytest.SDK, gate <-chan struct{}, sent chan<- command.Command) (*esmemory.Store, *saga.Engine) {
	commands := eventstore.NewRegistry(nil)
	eventstore.MustRegister[ping](commands, "Ping")
	events := esmemory.New(esmemory.Config{TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	t.Cleanup(func() { _ = events.Close() })
	d := saga.New[counter]("pinger", saga.Options{Events: testEvents(), Commands: commands})
	saga.Start(d, "Started", func(e started) string { return e.ID }, func(_ context.Context, s *saga.Scope[counter], e started) error {
		s.Send(ping{e.ID})
		return nil
	})
	sender := saga.SenderFunc(func(ctx context.Context, cmd command.Command) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		sent <- cmd
		// The receiving side appends in the trace it was sent in.
		_, err := events.Append(ctx, "pong-"+cmd.CorrelationID, eventstore.Any, eventstore.NewEvent("Pong", []byte(`{}`)))
		return err
	})
	engine, err := saga.NewEngine(d, memory.New(), events, sender, saga.Config{PollInterval: 10 * time.Millisecond,
		TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider})
	require.NoError(t, err)
	return events, engine
}

// While sends are held back the outbox gauges count the pending commands
// and their age; once they go out, the gauges return to 0. The saga's
// steps continue the traces of the events: handling is a child of the
// append, the send a child of the handling, and the receiver's append a
// child of the send.
func TestOutboxGaugesAndTraces(t *testing.T) {
	sdk := telemetrytest.New(t)
	gate := make(chan struct{})
	sent := make(chan command.Command, 100)
	events, engine := pingSaga(t, sdk, gate, sent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()

	const n = 5
	var last eventstore.Position
	for i := range n {
		res, err := events.Append(ctx, fmt.Sprintf("start-%d", i), eventstore.Any, eventstore.NewEvent("Started", []byte(fmt.Sprintf(`{"id":"i%d"}`, i))))
		require.NoError(t, err)
		last = res.Positions[0]
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	require.NoError(t, engine.WaitFor(wctx, last))
	value := func(name string, attrs ...string) float64 {
		v, ok := sdk.Value(t, name, append([]string{"chronicle.saga=pinger"}, attrs...)...)
		require.True(t, ok, "%s is not observed", name)
		return v
	}
	// Handled: every instance is stored with its command in the outbox.
	require.Equal(t, float64(n), value("chronicle.saga.instances", "chronicle.saga.status=running"))
	require.Equal(t, float64(n), value("chronicle.saga.outbox.pending"))
	time.Sleep(20 * time.Millisecond)
	require.GreaterOrEqual(t, value("chronicle.saga.outbox.oldest_age"), 0.02)
	require.Equal(t, float64(0), value("chronicle.saga.deadlines.due"))
	require.Equal(t, float64(n), value("chronicle.saga.events.handled"))

	close(gate)
	for range n {
		<-sent
	}
	deadline := time.Now().Add(30 * time.Second)
	for value("chronicle.saga.outbox.pending") != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, float64(0), value("chronicle.saga.outbox.pending"))
	require.Equal(t, float64(0), value("chronicle.saga.outbox.oldest_age"))
	require.Equal(t, float64(n), value("chronicle.saga.commands.sent", "chronicle.outcome=ok"))

	// One start's trace: append Started → saga → send Ping → append Pong.
	spans := sdk.Ended("")
	byID := map[string]int{}
	for i, s := range spans {
		byID[s.SpanContext().SpanID().String()] = i
	}
	parentName := func(i int) string {
		if j, ok := byID[spans[i].Parent().SpanID().String()]; ok {
			return spans[j].Name()
		}
		return ""
	}
	var handles, sends, pongs int
	for i, s := range spans {
		switch s.Name() {
		case "saga pinger":
			handles++
			require.Equal(t, "eventstore.append", parentName(i), "the saga's handling is a child of the append")
		case "send Ping":
			sends++
			require.Equal(t, "saga pinger", parentName(i), "the send is a child of the handling")
		case "eventstore.append":
			if v, _ := telemetrytest.Attr(s, "chronicle.stream"); len(v.AsString()) > 5 && v.AsString()[:5] == "pong-" {
				pongs++
				require.Equal(t, "send Ping", parentName(i), "the receiver's append is a child of the send")
			}
		}
	}
	require.Equal(t, n, handles)
	require.Equal(t, n, sends)
	require.Equal(t, n, pongs)
	cancel()
	<-done
}

// The saga's WaitFor under concurrent appends: after it returns, the
// instance of every start waited for is stored.
func TestSagaWaitForUnderConcurrentAppends(t *testing.T) {
	sdk := telemetrytest.New(t)
	gate := make(chan struct{})
	close(gate)
	sent := make(chan command.Command, 1000)
	events, engine := pingSaga(t, sdk, gate, sent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go engine.Run(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				typ, body := "Started", fmt.Sprintf(`{"id":"w%d-%d"}`, w, i)
				if i%4 == 3 {
					typ = "Unrelated"
				}
				res, err := events.Append(ctx, fmt.Sprintf("s-%d-%d", w, i), eventstore.Any, eventstore.NewEvent(typ, []byte(body)))
				if err != nil {
					t.Error(err)
					return
				}
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				err = engine.WaitFor(wctx, res.Positions[0])
				wcancel()
				if err != nil {
					t.Error(err)
					return
				}
				if typ == "Started" {
					if _, err := engine.History(ctx, fmt.Sprintf("w%d-%d", w, i)); err != nil {
						t.Errorf("WaitFor returned before the instance was stored: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
