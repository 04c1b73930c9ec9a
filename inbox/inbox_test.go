package inbox_test

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
	"github.com/chronicle-go/chronicle/inbox"
)

// TestMemoryInbox runs the inbox on the in-process broker and store: a
// message published twice is applied once, a poison message is parked, and
// an undecodable one too.
//
// A MemoryTx rolls nothing back: when the poison message fails, the
// handler has already run for the messages before it in its batch, and it
// runs for them again when they commit on their own (a redelivered poison
// message can land behind fresh ones). So what was applied is counted
// from the Committed hook, which sees each committed unit of work once,
// and the handler's own calls only bound it from above.
func TestMemoryInbox(t *testing.T) {
	b := memory.New()
	b.Bind("q")
	ctx := context.Background()
	for i := range 100 {
		m := broker.Message{ID: fmt.Sprint(i), Source: "/t", Type: "T"}
		for range 1 + i%2 { // odd ones twice
			c, err := b.Publish(ctx, m)
			require.NoError(t, err)
			require.NoError(t, c.Err())
		}
	}
	var mu sync.Mutex
	calls := map[string]int{} // handler calls, rolled-back attempts included
	seen := map[string]int{}  // committed applications
	h := inbox.HandlerFunc[inbox.MemoryTx](func(ctx context.Context, _ inbox.MemoryTx, m broker.Message) error {
		if m.ID == "42" {
			return errors.New("poison")
		}
		mu.Lock()
		calls[m.ID]++
		mu.Unlock()
		return nil
	})
	store := inbox.NewMemoryStore()
	var handled, committed, failed int
	hooks := inbox.Hooks{
		Handle: func(ctx context.Context, m broker.Message) (context.Context, func(error)) {
			mu.Lock()
			handled++
			mu.Unlock()
			return ctx, func(err error) {
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		},
		Committed: func(ctx context.Context, applied []broker.Message) {
			mu.Lock()
			committed += len(applied)
			for _, m := range applied {
				seen[m.ID]++
			}
			mu.Unlock()
		},
	}
	in, err := inbox.New(b.Consumer("q"), store, h, inbox.Config{Name: "c", BatchSize: 7, MaxAttempts: 2, Backoff: time.Millisecond, Hooks: hooks})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = in.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for in.Stats().Applied+in.Stats().Parked < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for in.Stats().Duplicates < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	require.Len(t, seen, 99)
	require.Len(t, calls, 99)
	require.Equal(t, 99, committed, "Committed saw each applied message once")
	require.Equal(t, 2, failed, "the poison message failed twice")
	// The messages before the poison one in its batch are handled again
	// after the batch rolls back: at least one call per application and
	// per failed attempt.
	require.GreaterOrEqual(t, handled, 99+2)
	for id, n := range seen {
		require.Equal(t, 1, n, "message %s committed once", id)
		require.GreaterOrEqual(t, calls[id], 1, id)
	}
	mu.Unlock()
	st := in.Stats()
	require.Equal(t, uint64(99), st.Applied)
	require.Equal(t, uint64(50), st.Duplicates)
	require.Equal(t, uint64(1), st.Parked)
	parked, err := store.Parked(ctx, "c")
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, "42", parked[0].Message.ID)
	require.Equal(t, 2, parked[0].Attempts)
	require.Equal(t, 99, store.Processed("c"))
	require.Equal(t, 0, b.Stats("q").Unacked+b.Stats("q").Ready, "everything settled")
}

func TestConfig(t *testing.T) {
	err := inbox.Config{BatchSize: -1, Retention: -1}.Validate()
	require.ErrorContains(t, err, "empty Name")
	require.ErrorContains(t, err, "BatchSize")
	require.ErrorContains(t, err, "Retention")
	_, err = inbox.New[inbox.MemoryTx](nil, nil, nil, inbox.Config{Name: "x"})
	require.ErrorContains(t, err, "nil consumer")
	require.ErrorContains(t, err, "nil store")
	require.ErrorContains(t, err, "nil handler")
}
