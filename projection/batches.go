package projection

import (
	"context"
	"iter"

	"github.com/chronicle-go/chronicle/eventstore"
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
// The sequence ends with the subscription's error (ctx's error once ctx is
// cancelled), or when the caller stops ranging; either way the goroutine is
// gone when the range statement returns. Sagas and other subscribers that
// commit per batch use it the same way the [Runner] does.
func Batches(ctx context.Context, store eventstore.Store, from eventstore.Position, filter eventstore.Filter, size int) iter.Seq2[[]eventstore.RecordedEvent, error] {
	return func(yield func([]eventstore.RecordedEvent, error) bool) {
		batchesOf(ctx, func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return store.Subscribe(ctx, eventstore.SubscribeOptions{From: from, Filter: filter})
		}, size)(yield)
	}
}

type item struct {
	e   eventstore.RecordedEvent
	err error
}

// batchesOf batches the event sequence open returns the way [Batches]
// describes. open gets a context that ends when the caller stops ranging, so
// a producer blocked in the sequence ends too.
func batchesOf(ctx context.Context, open func(context.Context) iter.Seq2[eventstore.RecordedEvent, error], size int) iter.Seq2[[]eventstore.RecordedEvent, error] {
	size = max(size, 1)
	return func(yield func([]eventstore.RecordedEvent, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		ch := make(chan item, size)
		seq := open(ctx)
		go func() {
			defer close(ch)
			for e, err := range seq {
				select {
				case ch <- item{e, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			cancel()
			for range ch { // wait for the producer to end
			}
		}()
		// ended reports why the producer stopped without an error of its
		// own: the caller's context, if that is done (the producer may see
		// it first and close the channel, and a select with both ready
		// picks either), else nothing: the sequence ran out.
		ended := func() {
			if ctx.Err() != nil {
				yield(nil, context.Cause(ctx))
			}
		}
		for {
			var it item
			var ok bool
			select {
			case it, ok = <-ch:
			case <-ctx.Done():
				// The producer may be blocked in seq, which is bound to a
				// context the caller cancels; report the cancellation.
				ended()
				return
			}
			if !ok {
				ended()
				return
			}
			if it.err != nil {
				yield(nil, it.err)
				return
			}
			batch := make([]eventstore.RecordedEvent, 1, size)
			batch[0] = it.e
			var pending error
			closed := false
		fill:
			for len(batch) < size {
				select {
				case it, ok = <-ch:
					switch {
					case !ok:
						closed = true
						break fill
					case it.err != nil:
						pending = it.err
						break fill
					}
					batch = append(batch, it.e)
				default:
					break fill
				}
			}
			if !yield(batch, nil) {
				return
			}
			if pending != nil {
				yield(nil, pending)
				return
			}
			if closed {
				ended()
				return
			}
		}
	}
}
