package projection

import (
	"context"
	"iter"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/batch"
)

// Batches subscribes to store from the position after from, through filter,
// and yields the events in batches of at most size (1 or more), in log
// order: first what is stored, then live.
//
// A goroutine reads the subscription ahead into a buffer of size events
// while the caller handles a batch; a batch is handed over when it is full or
// when the buffer is momentarily empty, so catch-up runs in full batches and
// a live event waits for no timer. Each yielded slice is the caller's.
//
// The sequence ends with the subscription's error (after the batch of the
// events before it), with ctx's cause once ctx is done, or when the caller
// stops ranging; either way the goroutine is gone when the range statement
// returns. The [Runner], the saga engine and the broker relay read the log
// through the same reader; other subscribers that commit per batch can use
// it the same way.
func Batches(ctx context.Context, store eventstore.Store, from eventstore.Position, filter eventstore.Filter, size int) iter.Seq2[[]eventstore.RecordedEvent, error] {
	return batch.Subscribe(ctx, store, eventstore.SubscribeOptions{From: from, Filter: filter}, size)
}
