package saga_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
)

// gatedStore holds each commit until the test lets it go, then commits it
// even if the engine's context ended meanwhile (as a commit whose COMMIT
// was already sent does).
type gatedStore struct {
	*memory.Store
	committing chan struct{}
	proceed    chan struct{}
}

func (s *gatedStore) Commit(ctx context.Context, c saga.Commit) error {
	s.committing <- struct{}{}
	<-s.proceed
	return s.Store.Commit(context.WithoutCancel(ctx), c)
}

// The subscription ends with the context's error when the context ends, and
// with ErrLeaseLost when the lease is lost — while it waits for events or while
// a batch commits, whichever of the reader goroutine and the engine sees it
// first. This is the race projection.Batches' test caught (d553e37), run
// against the engine, which reads through the same batching reader (its
// former copy of the reader returned "subscription ended" when the reader
// saw a cancellation during a commit). Many runs: the outcome of a select
// with two ready cases is random.
func TestSubscribeEndsWithTheContextOrTheLease(t *testing.T) {
	r := newRig(t, nil)
	store := &gatedStore{Store: r.store, committing: make(chan struct{}), proceed: make(chan struct{})}
	e, err := saga.NewEngine(r.def, store, r.events, noSend(), saga.Config{})
	require.NoError(t, err)
	for run := range 400 {
		loseLease, duringCommit := run%2 == 1, run%4 >= 2
		l, err := r.store.Acquire(t.Context(), "pokes")
		require.NoError(t, err)
		lease := &lostLease{Lease: l, lost: make(chan struct{}), released: make(chan struct{})}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- saga.Subscribe(ctx, e, lease) }()
		id := fmt.Sprint(run)
		r.append(t, started{id}, "Started", "s-"+id)
		<-store.committing
		stop := func() {
			if loseLease {
				close(lease.lost)
			} else {
				cancel()
			}
		}
		if duringCommit {
			stop()
			time.Sleep(time.Millisecond) // let the reader goroutine see it first
			store.proceed <- struct{}{}
		} else {
			store.proceed <- struct{}{}
			stop() // the engine waits for events, or is about to
		}
		err = <-done
		cancel()
		switch {
		case loseLease && !errors.Is(err, saga.ErrLeaseLost):
			t.Fatalf("run %d (during commit %v): the lease was lost, the subscription ended with %v", run, duringCommit, err)
		case !loseLease && err != context.Canceled:
			t.Fatalf("run %d (during commit %v): the context ended, the subscription ended with %v", run, duringCommit, err)
		}
		require.NoError(t, lease.Release(t.Context()))
	}
}
