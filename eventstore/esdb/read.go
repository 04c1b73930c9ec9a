package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// noLimit is the count the store asks for when a read has no limit: the
// server streams the events with flow control, so nothing is buffered.
const noLimit = math.MaxInt64

// ReadStream implements [eventstore.Store]. Version v is revision v-1 on
// the server. A stream without events, or deleted, yields one
// [*eventstore.StreamNotFoundError].
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		if err := s.limits.CheckStreamID(stream); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		if err := ctx.Err(); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		if err := eventstore.CheckLimit("read stream", stream, opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		c, err := s.conn()
		if err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		ro := kurrentdb.ReadStreamOptions{Direction: kurrentdb.Forwards, From: kurrentdb.Start{}}
		if opts.Direction == eventstore.Backwards {
			ro.Direction, ro.From = kurrentdb.Backwards, kurrentdb.End{}
		}
		if opts.From > 0 {
			ro.From = kurrentdb.Revision(opts.From - 1)
		}
		count := uint64(noLimit)
		if opts.Limit > 0 {
			count = uint64(opts.Limit)
		}
		op := fmt.Sprintf("read stream %q", stream)
		rs, err := c.ReadStream(ctx, s.serverStream(stream), ro, count)
		if err != nil {
			yield(eventstore.RecordedEvent{}, s.readError(ctx, c, op, stream, err))
			return
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(eventstore.RecordedEvent{}, s.readError(ctx, c, op, stream, err))
				return
			}
			e := fromRecorded(ev.OriginalEvent())
			e.StreamID = stream
			if !yield(e, nil) {
				return
			}
		}
	}
}

// readError maps a stream read's error: a missing or deleted stream is an
// [*eventstore.StreamNotFoundError].
func (s *Store) readError(ctx context.Context, c *kurrentdb.Client, op, stream string, err error) error {
	if ctx.Err() == nil {
		if code, ok := clientCode(err); ok {
			switch code {
			case kurrentdb.ErrorCodeResourceNotFound:
				return &eventstore.StreamNotFoundError{Stream: stream}
			case kurrentdb.ErrorCodeStreamDeleted:
				return fmt.Errorf("esdb: %s: the stream is deleted: %w", op, &eventstore.StreamNotFoundError{Stream: stream})
			}
		}
	}
	return s.mapError(ctx, c, op, err)
}

// ReadAll implements [eventstore.Store]. It reads $all and skips
// EventStoreDB's own events (those whose stream or type starts with "$")
// and, with a [Config.Namespace], the streams of other namespaces;
// opts.Limit counts the events yielded, not the ones skipped.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		if err := eventstore.CheckLimit("read all", "", opts.Limit); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		c, err := s.conn()
		if err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		backwards := opts.Direction == eventstore.Backwards
		ro := kurrentdb.ReadAllOptions{Direction: kurrentdb.Forwards, From: kurrentdb.Start{}}
		if backwards {
			ro.Direction, ro.From = kurrentdb.Backwards, kurrentdb.End{}
		}
		if !opts.From.IsZero() {
			ro.From = toPosition(opts.From)
		}
		rs, err := c.ReadAll(ctx, ro, noLimit)
		if err != nil {
			yield(eventstore.RecordedEvent{}, s.mapError(ctx, c, "read all", err))
			return
		}
		defer rs.Close()
		yielded := 0
		for opts.Limit == 0 || yielded < opts.Limit {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(eventstore.RecordedEvent{}, s.mapError(ctx, c, "read all", err))
				return
			}
			r := ev.OriginalEvent()
			if r == nil || isSystem(r.StreamID, r.EventType) {
				continue
			}
			stream, ok := s.userStream(r.StreamID)
			if !ok {
				continue
			}
			e := fromRecorded(r)
			e.StreamID = stream
			// From is exclusive; the server starts at it.
			if !opts.From.IsZero() && ((!backwards && !e.Position.After(opts.From)) || (backwards && !e.Position.Before(opts.From))) {
				continue
			}
			if !yield(e, nil) {
				return
			}
			yielded++
		}
	}
}
