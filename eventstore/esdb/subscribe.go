package esdb

import (
	"context"
	"errors"
	"io"
	"iter"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// resubscribeAttempts is how many times in a row a subscription whose
// connection dropped is opened again (after the last event it delivered)
// before the error is yielded.
const resubscribeAttempts = 5

// checkpointInterval is the server's checkpoint interval multiplier: the
// store does not use the server's checkpoints (see [Store.Subscribe]), so
// it asks for few of them.
const checkpointInterval = 100

// Subscribe implements [eventstore.Store] with a catch-up subscription to
// $all: it delivers the events after opts.From, then follows live.
//
// # Filters
//
// The server filters on one thing only, so opts.Filter goes to the server as
// an event-type regular expression when it lists event types (each name
// escaped and anchored: ^(?:A|B)$), as stream-name prefixes when it lists only
// stream prefixes (after the [Config.Namespace]), and otherwise as the
// namespace's prefix, or "no system events" without a namespace. The store
// applies the whole filter again to what arrives, so a filter that lists
// both still holds.
//
// # System events
//
// EventStoreDB's own events — whose stream or type starts with "$" — are
// skipped, unless the filter asks for them by exact type or by a stream
// prefix that starts with "$".
//
// # Checkpoints and resuming
//
// The server sends checkpoints for filtered subscriptions; the store reads
// and drops them. Resume from the position of the last event handled: that
// is exact, whereas server checkpoints have pointed past unprocessed events
// in some releases (KurrentDB issues 3697 and 4970). When the connection
// drops, the subscription reopens itself from the last event it delivered,
// up to five times in a row with back-off, then yields an
// [*UnavailableError]; a server that cannot be reached when the
// subscription starts is reported at once.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		if err := s.limits.CheckFilter("subscribe", opts.Filter); err != nil {
			yield(eventstore.RecordedEvent{}, err)
			return
		}
		filter := opts.Filter
		server := serverFilter(filter, s.namespace)
		from := opts.From
		failures := 0
		established := false // a subscription was open once: reopen it on a drop
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			c, err := s.conn()
			if err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			so := kurrentdb.SubscribeToAllOptions{From: kurrentdb.Start{}, Filter: server, CheckpointInterval: checkpointInterval}
			if !from.IsZero() {
				so.From = toPosition(from)
			}
			var delivered int
			sub, err := c.SubscribeToAll(ctx, so)
			if err == nil {
				established = true
				var stop bool
				delivered, stop, err = s.follow(sub, filter, &from, yield)
				if stop {
					return
				}
			}
			if errors.Is(err, io.EOF) && ctx.Err() == nil {
				err = &UnavailableError{Op: "subscribe", Address: s.address, Err: errors.New("the server ended the subscription")}
			} else {
				err = s.mapError(ctx, c, "subscribe", err)
			}
			if delivered > 0 {
				failures = 0
			}
			failures++
			if !established || !eventstore.IsRetryable(err) || failures > resubscribeAttempts {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			wait := min(100*time.Millisecond<<failures, 5*time.Second)
			s.logger.Warn("esdb: subscription dropped, opening it again", "after", from.String(), "attempt", failures, "wait", wait, "error", err)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				yield(eventstore.RecordedEvent{}, ctx.Err())
				return
			case <-t.C:
			}
		}
	}
}

// follow delivers sub's events after *from that pass filter, advancing
// *from. It returns the number of events delivered and the error that
// ended the subscription, or stop=true when the consumer stopped ranging.
func (s *Store) follow(sub *kurrentdb.Subscription, filter eventstore.Filter, from *eventstore.Position, yield func(eventstore.RecordedEvent, error) bool) (delivered int, stop bool, err error) {
	defer sub.Close()
	for {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			err := msg.SubscriptionDropped.Error
			if err == nil {
				err = errors.New("subscription dropped")
			}
			return delivered, false, err
		case msg.EventAppeared != nil:
			r := msg.EventAppeared.OriginalEvent()
			if r == nil {
				continue
			}
			stream, ok := s.userStream(r.StreamID)
			if !ok || !wanted(filter, stream, r.EventType) {
				continue
			}
			e := fromRecorded(r)
			e.StreamID = stream
			if !from.IsZero() && !e.Position.After(*from) {
				continue // at or before the resume point: already delivered
			}
			if !yield(e, nil) {
				return delivered, true, nil
			}
			*from = e.Position
			delivered++
		}
		// CheckPointReached, CaughtUp and FellBehind carry nothing to deliver.
	}
}

// serverFilter is the part of f the server can apply, for the streams of
// namespace.
func serverFilter(f eventstore.Filter, namespace string) *kurrentdb.SubscriptionFilter {
	if len(f.EventTypes) > 0 {
		names := make([]string, len(f.EventTypes))
		for i, t := range f.EventTypes {
			names[i] = regexp.QuoteMeta(t)
		}
		return &kurrentdb.SubscriptionFilter{Type: kurrentdb.EventFilterType, Regex: "^(?:" + strings.Join(names, "|") + ")$"}
	}
	if len(f.StreamPrefixes) > 0 && !slices.Contains(f.StreamPrefixes, "") {
		prefixes := make([]string, len(f.StreamPrefixes))
		for i, p := range f.StreamPrefixes {
			prefixes[i] = namespace + p
		}
		return &kurrentdb.SubscriptionFilter{Type: kurrentdb.StreamFilterType, Prefixes: prefixes}
	}
	if namespace != "" {
		return &kurrentdb.SubscriptionFilter{Type: kurrentdb.StreamFilterType, Prefixes: []string{namespace}}
	}
	return kurrentdb.ExcludeSystemEventsFilter()
}

// wanted applies f on the client, and keeps system events out unless f
// asks for them: by listing their exact type, or by a stream prefix that
// starts with "$".
func wanted(f eventstore.Filter, stream, eventType string) bool {
	if !f.Match(stream, eventType) {
		return false
	}
	if !isSystem(stream, eventType) {
		return true
	}
	if strings.HasPrefix(eventType, "$") && slices.Contains(f.EventTypes, eventType) {
		return true
	}
	return slices.ContainsFunc(f.StreamPrefixes, func(p string) bool {
		return strings.HasPrefix(p, "$") && strings.HasPrefix(stream, p)
	})
}
