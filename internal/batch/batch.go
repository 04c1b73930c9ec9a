package batch

import (
	"context"
	"iter"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Subscribe subscribes to store with opts and yields the events in batches
// of at most size (1 or more), in log order: first what is stored, then
// live. See [Of] for how the batches are cut and how the sequence ends.
func Subscribe(ctx context.Context, store eventstore.Store, opts eventstore.SubscribeOptions, size int) iter.Seq2[[]eventstore.RecordedEvent, error] {
	return Of(ctx, func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
		return store.Subscribe(ctx, opts)
	}, size)
}

type item struct {
	e   eventstore.RecordedEvent
	err error
}

// Of yields the events of the sequence open returns in batches of at most
// size (1 or more), in order.
//
// A goroutine ranges over the sequence ahead into a buffer of size events
// while the caller handles a batch; a batch is handed over when it is full
// or when the buffer is momentarily empty. Each yielded slice is the
// caller's. open gets a context that also ends when the caller stops
// ranging, so a producer blocked in the sequence ends too.
//
// An error of the sequence is yielded after the batch of the events before
// it, and ends the sequence. Once ctx is done the sequence ends with
// [context.Cause] of ctx — also when the goroutine sees the cancellation
// before the caller does, or the sequence ends without an error of its own
// — so a caller never mistakes a cancellation for the end of a finite
// sequence. A finite sequence that runs out while ctx is live ends the
// range with no error. Either way the goroutine is gone when the range
// statement returns.
func Of(ctx context.Context, open func(context.Context) iter.Seq2[eventstore.RecordedEvent, error], size int) iter.Seq2[[]eventstore.RecordedEvent, error] {
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
