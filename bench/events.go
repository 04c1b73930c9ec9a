package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// orderEvents returns n events as a command handler appends them: IDs set,
// a small JSON payload, and a correlation and causation ID. seq numbers
// them within the stream, from 1.
func orderEvents(stream string, seq, n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		k := seq + i
		data := `{"order_id":"` + stream + `","line":` + strconv.Itoa(k) + `,"sku":"sku-` + strconv.Itoa(k%97) +
			`","qty":` + strconv.Itoa(1+k%5) + `,"amount":` + strconv.Itoa(100+k%9000) + `}`
		evs[i] = eventstore.Event{
			ID:   eventstore.NewEventID(),
			Type: "OrderLineAdded",
			Data: []byte(data),
			Metadata: eventstore.Metadata{
				CorrelationID: stream,
				CausationID:   "cmd-" + strconv.Itoa(k),
			},
		}
	}
	return evs
}

// appender appends events to stream if its version is expected: ok=false
// with the stream's version (as the writer learns it) on a mismatch.
type appender func(ctx context.Context, stream string, expected uint64, events []eventstore.Event) (version uint64, ok bool, err error)

// storeAppender appends through a chronicle store with Exact(expected).
func storeAppender(s eventstore.Store) appender {
	return func(ctx context.Context, stream string, expected uint64, events []eventstore.Event) (uint64, bool, error) {
		res, err := s.Append(ctx, stream, eventstore.Exact(expected), events...)
		if err != nil {
			var ce *eventstore.ConflictError
			if errors.As(err, &ce) && ce.EventID == uuid.Nil {
				return ce.Actual, false, nil
			}
			return 0, false, err
		}
		return res.Version, true, nil
	}
}

// baselineAppender appends with the baseline's statement on the pool.
func (e *env) baselineAppender() appender {
	return func(ctx context.Context, stream string, expected uint64, events []eventstore.Event) (uint64, bool, error) {
		return e.baselineAppend(ctx, e.pool, stream, expected, events)
	}
}

// streamReader reads a whole stream forwards.
type streamReader func(ctx context.Context, stream string) iter.Seq2[eventstore.RecordedEvent, error]

func storeReader(s eventstore.Store) streamReader {
	return func(ctx context.Context, stream string) iter.Seq2[eventstore.RecordedEvent, error] {
		return s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{})
	}
}

func (e *env) baselineReader() streamReader {
	return func(ctx context.Context, stream string) iter.Seq2[eventstore.RecordedEvent, error] {
		return func(yield func(eventstore.RecordedEvent, error) bool) {
			rows, err := e.pool.Query(ctx, e.base.readStream, stream, 1)
			if err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			stop := errors.New("stop")
			_, err = scanEvents(rows, func(ev eventstore.RecordedEvent) error {
				if !yield(ev, nil) {
					return stop
				}
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				yield(eventstore.RecordedEvent{}, err)
			}
		}
	}
}

// streamReport is what checkStream found.
type streamReport struct {
	events int
	// inversions counts neighbours whose global positions run against their
	// stream versions (version v+1 sorting before version v in the log).
	inversions int
}

// checkStream reads stream and checks that it holds exactly want events
// with versions 1…want, each event ID once.
func checkStream(ctx context.Context, read streamReader, stream string, want int) (streamReport, error) {
	var rep streamReport
	seen := make(map[[16]byte]bool, want)
	var prev eventstore.Position
	for ev, err := range read(ctx, stream) {
		if err != nil {
			return rep, fmt.Errorf("read %s: %w", stream, err)
		}
		rep.events++
		if ev.Version != uint64(rep.events) {
			return rep, fmt.Errorf("stream %s: event %d has version %d: versions are not contiguous", stream, rep.events, ev.Version)
		}
		if seen[ev.ID] {
			return rep, fmt.Errorf("stream %s: event ID %s stored twice", stream, ev.ID)
		}
		seen[ev.ID] = true
		if rep.events > 1 && !ev.Position.After(prev) {
			rep.inversions++
		}
		prev = ev.Position
	}
	if rep.events != want {
		return rep, fmt.Errorf("stream %s: %d events, want %d (one per successful append)", stream, rep.events, want)
	}
	return rep, nil
}
