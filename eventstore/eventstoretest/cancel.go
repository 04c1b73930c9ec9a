package eventstoretest

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

func (s *suite) testCancellation(t *testing.T) {
	cancelled := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}
	seed := func(t *testing.T, n int) eventstore.Store {
		st := s.store(t)
		for written := 0; written < n; written += min(500, n-written) {
			appendOK(t, st, "cancel-s", eventstore.Any, numbered("E", written, min(500, n-written))...)
		}
		settle(t, st)
		return st
	}

	t.Run("Append", func(t *testing.T) {
		st := seed(t, 3)
		_, err := st.Append(cancelled(t), "cancel-new", eventstore.Any, event("E", `{}`))
		errIs(t, err, context.Canceled, "Append with a cancelled context")
		_, err = st.Append(cancelled(t), "cancel-s", eventstore.Exact(3), numbered("E", 0, 3)...)
		errIs(t, err, context.Canceled, "Append with a cancelled context")
		expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err = st.Append(expired, "cancel-new", eventstore.NoStream, event("E", `{}`))
		errIs(t, err, context.DeadlineExceeded, "Append with an expired context")
		// Nothing written.
		requireStreamMissing(t, st, "cancel-new")
		equal(t, uint64(3), streamVersion(t, st, "cancel-s"), "version of cancel-s")
		equal(t, 3, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
	})

	// An append cut short by its context tells the truth: a context error
	// means nothing was stored; an append stored is reported stored; when
	// the store cannot tell, an *eventstore.OutcomeUnknownError, and a retry
	// with the same event IDs stores the events once.
	t.Run("AppendUnderDeadlines", func(t *testing.T) {
		st := s.store(t)
		const stream = "deadline-s"
		rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
		var want []uuid.UUID
		refused := map[uuid.UUID]bool{}
		var version uint64
		counts := map[string]int{}
		for i := range s.opts.DeadlineAppends {
			evs := numbered("D", i*3, 1+i%3)
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rnd.IntN(41))*time.Millisecond)
			res, err := st.Append(ctx, stream, eventstore.Exact(version), evs...)
			cancel()
			switch {
			case err == nil:
				counts["stored"]++
			case eventstore.IsOutcomeUnknown(err):
				counts["unknown"]++
				ou := errAs[*eventstore.OutcomeUnknownError](t, err)
				equal(t, ids(evs), ou.EventIDs, "OutcomeUnknownError.EventIDs")
				errIsNot(t, err, context.DeadlineExceeded, "an unknown outcome is not a cancellation")
				res, err = st.Append(t.Context(), stream, eventstore.Exact(version), evs...)
				noErr(t, err, "the retry, with the same event IDs, of an append whose outcome was unknown")
			case errors.Is(err, context.DeadlineExceeded):
				counts["not stored"]++
				for _, id := range ids(evs) {
					refused[id] = true
				}
				continue
			default:
				t.Fatalf("append %d under a deadline: %v", i, err)
			}
			equal(t, version+uint64(len(evs)), res.Version, "AppendResult.Version of append %d", i)
			version = res.Version
			want = append(want, ids(evs)...)
		}
		t.Logf("%d appends under deadlines of 0-40 ms: %v", s.opts.DeadlineAppends, counts)
		got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
		for _, e := range got {
			isTrue(t, !refused[e.ID], "event %s, of an append reported as not stored (a context error), is in the stream", e.ID)
		}
		equal(t, want, recordedIDs(got), "the stream: every append reported stored, once, in order")
	})

	// A read with a context cancelled before it starts yields only the
	// context's error.
	requireOnlyCtxErr := func(t *testing.T, what string, seq func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error]) {
		t.Helper()
		evs, err := collect(seq(cancelled(t)))
		equal(t, 0, len(evs), "%s with a cancelled context yielded events", what)
		errIs(t, err, context.Canceled, what)
	}
	t.Run("ReadStream", func(t *testing.T) {
		st := seed(t, 5)
		requireOnlyCtxErr(t, "ReadStream", func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return st.ReadStream(ctx, "cancel-s", eventstore.ReadStreamOptions{})
		})
		requireOnlyCtxErr(t, "ReadStream of a missing stream", func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return st.ReadStream(ctx, "cancel-missing", eventstore.ReadStreamOptions{})
		})
	})
	t.Run("ReadAll", func(t *testing.T) {
		st := seed(t, 5)
		requireOnlyCtxErr(t, "ReadAll", func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return st.ReadAll(ctx, eventstore.ReadAllOptions{})
		})
		requireOnlyCtxErr(t, "ReadAll backwards", func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return st.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards})
		})
	})
	t.Run("Subscribe", func(t *testing.T) {
		st := seed(t, 5)
		requireOnlyCtxErr(t, "Subscribe", func(ctx context.Context) iter.Seq2[eventstore.RecordedEvent, error] {
			return st.Subscribe(ctx, eventstore.SubscribeOptions{})
		})
	})

	t.Run("ReadAllWhileReading", func(t *testing.T) {
		st := seed(t, 3000)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		want := readAll(t, st, eventstore.ReadAllOptions{})
		var got []eventstore.RecordedEvent
		var last error
		for e, err := range st.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				last = err
				break
			}
			got = append(got, e)
			if len(got) == 10 {
				cancel()
			}
		}
		// A read cancelled midway may still deliver what it had fetched,
		// but if it reports an error, it is the context's.
		if last != nil {
			errIs(t, last, context.Canceled, "ReadAll cancelled while reading")
		}
		equal(t, recordedIDs(want[:len(got)]), recordedIDs(got), "events before the cancellation")
	})

	// A subscription ends with the context's error once its context is
	// cancelled, whether it is catching up or waiting for new events.
	endsWithCtxErr := func(t *testing.T, st eventstore.Store, cancelAfter int) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		received := make(chan struct{})
		go func() {
			n := 0
			for _, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
				if err != nil {
					done <- result{n, err}
					return
				}
				n++
				if n == cancelAfter {
					close(received)
				}
			}
			done <- result{n, errors.New("the subscription ended without an error")}
		}()
		select {
		case <-received:
		case <-time.After(s.opts.Timeout):
			t.Fatalf("the subscription did not deliver %d events", cancelAfter)
		}
		cancel()
		select {
		case r := <-done:
			errIs(t, r.err, context.Canceled, "the end of a cancelled subscription (after %d events)", r.n)
		case <-time.After(s.opts.Timeout):
			t.Fatal("the subscription did not end after its context was cancelled")
		}
	}
	t.Run("SubscribeWhileLive", func(t *testing.T) {
		st := seed(t, 3)
		endsWithCtxErr(t, st, 3)
	})
	t.Run("SubscribeWhileCatchingUp", func(t *testing.T) {
		st := seed(t, 3000)
		endsWithCtxErr(t, st, 10)
	})
}
