package eventstoretest

import (
	"fmt"
	"iter"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

// take ranges over sub until it has n events, then stops ranging. It fails t
// on an error, including the suite's timeout running out.
func take(t testing.TB, sub iter.Seq2[eventstore.RecordedEvent, error], n int) []eventstore.RecordedEvent {
	t.Helper()
	out := make([]eventstore.RecordedEvent, 0, n)
	if n == 0 {
		return out
	}
	for e, err := range sub {
		if err != nil {
			t.Fatalf("subscription ended after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, e)
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("subscription ended without an error after %d of %d events", len(out), n)
	return nil
}

func (s *suite) testSubscribe(t *testing.T) {
	t.Run("FromStartThenLive", func(t *testing.T) {
		st := s.store(t)
		var evs []eventstore.Event
		for i := range 5 {
			e := event("S", fmt.Sprintf(`{"i":%d}`, i))
			appendOK(t, st, fmt.Sprintf("sub-%d", i%2), eventstore.Any, e)
			evs = append(evs, e)
		}
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		// The subscription itself appends the next event each time it
		// receives the last one: those can only arrive live.
		var got []eventstore.RecordedEvent
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			noErr(t, err, "Subscribe after %d events", len(got))
			got = append(got, e)
			if len(got) == 12 {
				break
			}
			if len(got) >= len(evs) {
				next := event("Live", fmt.Sprintf(`{"i":%d}`, len(evs)))
				appendOK(t, st, "sub-live", eventstore.Any, next)
				evs = append(evs, next)
			}
		}
		equal(t, 12, len(got), "events received")
		for i := range got {
			requireSameEvent(t, evs[i], got[i])
		}
		equal(t, positions(readAll(t, st, eventstore.ReadAllOptions{})), positions(got), "the subscription delivers the log's positions")
		requireIncreasing(t, positions(got))
	})

	t.Run("FromCheckpoint", func(t *testing.T) {
		st := s.store(t)
		var evs []eventstore.Event
		for i := range 10 {
			e := event("C", fmt.Sprintf(`{"i":%d}`, i))
			appendOK(t, st, fmt.Sprintf("ckpt-%d", i%3), eventstore.Any, e)
			evs = append(evs, e)
		}
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		first := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{}), 4)
		for i := range first {
			requireSameEvent(t, evs[i], first[i])
		}
		checkpoint := first[3].Position
		// Restart: a new subscription from the last position handled
		// delivers exactly the rest, then what is appended later.
		live := numbered("Later", 10, 3)
		appendOK(t, st, "ckpt-later", eventstore.NoStream, live...)
		evs = append(evs, live...)
		rest := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{From: checkpoint}), len(evs)-4)
		for i := range rest {
			requireSameEvent(t, evs[4+i], rest[i])
		}
		// And from the very last position: only what comes next.
		marker := event("Marker", `{}`)
		appendOK(t, st, "ckpt-marker", eventstore.NoStream, marker)
		after := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{From: rest[len(rest)-1].Position}), 1)
		requireSameEvent(t, marker, after[0])
	})

	t.Run("FromHeadLive", func(t *testing.T) {
		st := s.store(t)
		res := appendOK(t, st, "head-old", eventstore.NoStream, numbered("Old", 1, 3)...)
		head := res.Positions[2]
		live := numbered("New", 1, 20)
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		failures := &errorList{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Appended while the subscription below starts and waits.
			for i, e := range live {
				if _, err := st.Append(ctx, fmt.Sprintf("head-new-%d", i%4), eventstore.Any, e); err != nil {
					failures.addf("append %d: %v", i, err)
					return
				}
			}
		}()
		got := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{From: head}), len(live))
		<-done
		failures.check(t)
		for i := range got {
			requireSameEvent(t, live[i], got[i])
		}
	})

	t.Run("Filter", func(t *testing.T) {
		type input struct {
			stream, typ string
		}
		log := []input{
			{"order-1", "Placed"}, {"cart-1", "Added"}, {"order-2", "Placed"},
			{"orders-x", "Placed"}, {"order-1", "Paid"}, {"cart-1", "Placed"},
			{"order-2", "Shipped"}, {"inventory-9", "Reserved"}, {"order-1", "Shipped"},
		}
		live := []input{
			{"cart-2", "Added"}, {"order-3", "Placed"}, {"inventory-9", "Released"},
			{"order-3", "Paid"}, {"cart-2", "Placed"},
		}
		cases := []struct {
			name   string
			filter eventstore.Filter
			// marker passes the filter and closes the sequence: nothing
			// else may arrive before it.
			marker input
		}{
			{"StreamPrefix", eventstore.Filter{StreamPrefixes: []string{"order-"}}, input{"order-9", "Marker"}},
			{"StreamPrefixes", eventstore.Filter{StreamPrefixes: []string{"order-", "inventory-"}}, input{"inventory-m", "Marker"}},
			{"EventType", eventstore.Filter{EventTypes: []string{"Placed"}}, input{"marker", "Placed"}},
			{"EventTypes", eventstore.Filter{EventTypes: []string{"Placed", "Released", "Added"}}, input{"marker", "Released"}},
			{"PrefixAndType", eventstore.Filter{StreamPrefixes: []string{"order-", "cart-"}, EventTypes: []string{"Placed"}}, input{"cart-m", "Placed"}},
			{"WholeStreamID", eventstore.Filter{StreamPrefixes: []string{"order-1"}}, input{"order-1", "Marker"}},
			{"MatchesNothingYet", eventstore.Filter{EventTypes: []string{"Marker"}}, input{"marker", "Marker"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if !c.filter.Match(c.marker.stream, c.marker.typ) {
					t.Fatalf("bad test: the marker %+v does not pass %+v", c.marker, c.filter)
				}
				st := s.store(t)
				var want []eventstore.Event
				// add appends in and returns the events that pass the
				// filter; it runs on the test's goroutine or another.
				add := func(in []input) ([]eventstore.Event, error) {
					var passed []eventstore.Event
					for _, in := range in {
						e := event(in.typ, fmt.Sprintf(`{"stream":%q}`, in.stream))
						if _, err := st.Append(t.Context(), in.stream, eventstore.Any, e); err != nil {
							return nil, fmt.Errorf("append to %q: %w", in.stream, err)
						}
						if c.filter.Match(in.stream, in.typ) {
							passed = append(passed, e)
						}
					}
					return passed, nil
				}
				caughtUp, err := add(log)
				noErr(t, err)
				want = append(want, caughtUp...)
				// The live events and the marker are appended once the
				// subscription has caught up: from its own loop, or from
				// another goroutine when nothing passes the filter yet.
				liveWant := make(chan []eventstore.Event, 1)
				failures := &errorList{}
				goLive := func() {
					passed, err := add(append(live, c.marker))
					if err != nil {
						failures.addf("%v", err)
						close(liveWant)
						return
					}
					liveWant <- passed
				}
				ctx, cancel := s.waitCtx(t)
				defer cancel()
				if len(want) == 0 {
					go goLive()
				}
				var got []eventstore.RecordedEvent
				for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: c.filter}) {
					if err != nil {
						failures.check(t)
						t.Fatalf("Subscribe with %+v after %d events: %v", c.filter, len(got), err)
					}
					got = append(got, e)
					if e.StreamID == c.marker.stream && e.Type == c.marker.typ && len(got) > len(caughtUp) {
						break
					}
					if len(got) == len(caughtUp) {
						goLive()
					}
				}
				failures.check(t)
				want = append(want, <-liveWant...)
				equal(t, ids(want), recordedIDs(got), "event IDs delivered with filter %+v", c.filter)
				for i := range got {
					isTrue(t, c.filter.Match(got[i].StreamID, got[i].Type),
						"event %s/%s does not pass the filter", got[i].StreamID, got[i].Type)
				}
				requireIncreasing(t, positions(got))
			})
		}
	})

	t.Run("FilterFromCheckpoint", func(t *testing.T) {
		st := s.store(t)
		filter := eventstore.Filter{StreamPrefixes: []string{"keep-"}}
		var kept []eventstore.Event
		for i := range 12 {
			e := event("F", fmt.Sprintf(`{"i":%d}`, i))
			stream := fmt.Sprintf("skip-%d", i)
			if i%3 == 0 {
				stream = fmt.Sprintf("keep-%d", i)
				kept = append(kept, e)
			}
			appendOK(t, st, stream, eventstore.NoStream, e)
		}
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		first := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: filter}), 2)
		rest := take(t, st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: filter, From: first[1].Position}), 2)
		equal(t, ids(kept), recordedIDs(append(first, rest...)), "kept events across a restart")
	})

	t.Run("TwoSubscribers", func(t *testing.T) {
		st := s.store(t)
		evs := numbered("Two", 1, 50)
		ctx, cancel := s.waitCtx(t)
		defer cancel()
		results := make([][]eventstore.RecordedEvent, 2)
		failures := &errorList{}
		done := make(chan struct{}, 2)
		for i := range results {
			go func() {
				defer func() { done <- struct{}{} }()
				for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
					if err != nil {
						failures.addf("subscriber %d after %d events: %v", i, len(results[i]), err)
						return
					}
					results[i] = append(results[i], e)
					if len(results[i]) == len(evs) {
						return
					}
				}
			}()
		}
		for i, e := range evs {
			appendOK(t, st, fmt.Sprintf("two-%d", i%5), eventstore.Any, e)
		}
		<-done
		<-done
		failures.check(t)
		for i := range results {
			equal(t, ids(evs), recordedIDs(results[i]), "events of subscriber %d", i)
		}
	})
}
