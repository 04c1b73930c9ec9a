package eventstoretest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

func (s *suite) testConcurrency(t *testing.T) {
	t.Run("RacingExact", s.testRacingExact)
	t.Run("SubscriberWhileWriting", s.testSubscriberWhileWriting)
}

// testRacingExact races RaceWriters goroutines appending with Exact(n) to
// one stream, round after round: exactly one wins each version, every
// loser gets a conflict naming the winner's version, and the stream ends
// holding exactly the winners, versions 1..RaceRounds.
func (s *suite) testRacingExact(t *testing.T) {
	st := s.store(t)
	const stream = "race-1"
	writers, rounds := s.opts.RaceWriters, s.opts.RaceRounds
	winners := make([]uuid.UUID, 0, rounds)
	type attempt struct {
		id  uuid.UUID
		res eventstore.AppendResult
		err error
	}
	for n := range uint64(rounds) {
		start := make(chan struct{})
		attempts := make([]attempt, writers) // each goroutine writes only its own slot
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				e := event("Raced", fmt.Sprintf(`{"round":%d,"writer":%d}`, n, w))
				<-start
				res, err := st.Append(t.Context(), stream, eventstore.Exact(n), e)
				attempts[w] = attempt{e.ID, res, err}
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for w, a := range attempts {
			if a.err == nil {
				if won >= 0 {
					t.Fatalf("round %d: writers %d and %d both appended with Exact(%d)", n, won, w, n)
				}
				won = w
				equal(t, n+1, a.res.Version, "round %d: the winner's AppendResult.Version", n)
				continue
			}
			requireConflict(t, a.err, stream, eventstore.Exact(n), n+1)
		}
		if won < 0 {
			t.Fatalf("round %d: no writer appended with Exact(%d); first error: %v", n, n, attempts[0].err)
		}
		winners = append(winners, attempts[won].id)
	}
	got := readStream(t, st, stream, eventstore.ReadStreamOptions{})
	equal(t, seq(1, uint64(rounds)), versions(got), "versions of the raced stream")
	equal(t, winners, recordedIDs(got), "the raced stream holds exactly the winners, in order")
	equal(t, rounds, len(readAll(t, st, eventstore.ReadAllOptions{})), "events in the log")
}

// testSubscriberWhileWriting runs SubscribeWriters writers appending
// SubscribeEvents events in all, to streams of their own and to shared ones,
// while one subscriber follows from the start, a second one joins midway
// (catching up while the log grows, then live), and a reader keeps reading
// the whole log. Each must see every event exactly once, in one global
// order, with every stream's versions ascending without a gap.
func (s *suite) testSubscriberWhileWriting(t *testing.T) {
	st := s.store(t)
	writers, total := s.opts.SubscribeWriters, s.opts.SubscribeEvents
	ctx, cancel := s.waitCtx(t)
	defer cancel()
	failures := &errorList{}

	// checkOrder checks a prefix of the log as one reader saw it.
	checkOrder := func(who string, evs []eventstore.RecordedEvent) bool {
		next := make(map[string]uint64)
		seen := make(map[uuid.UUID]bool, len(evs))
		for i, e := range evs {
			if i > 0 && !evs[i-1].Position.Before(e.Position) {
				failures.addf("%s: position %v after %v", who, e.Position, evs[i-1].Position)
				return false
			}
			if seen[e.ID] {
				failures.addf("%s: event %s delivered twice", who, e.ID)
				return false
			}
			seen[e.ID] = true
			if next[e.StreamID]++; e.Version != next[e.StreamID] {
				failures.addf("%s: stream %q: version %d where %d was due (a gap or a reordering)", who, e.StreamID, e.Version, next[e.StreamID])
				return false
			}
		}
		return true
	}

	var appended atomic.Int64
	third := make(chan struct{})
	thirdIn := sync.OnceFunc(func() { close(third) })
	subscribe := func(who string, got *[]eventstore.RecordedEvent) {
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			if err != nil {
				failures.addf("%s: after %d of %d events: %v", who, len(*got), total, err)
				return
			}
			*got = append(*got, e)
			if len(*got) == total {
				return
			}
		}
		failures.addf("%s: ended without an error after %d of %d events", who, len(*got), total)
	}

	writersDone := make(chan struct{})
	var readers sync.WaitGroup
	var early, late []eventstore.RecordedEvent
	readers.Go(func() { subscribe("subscriber from the start", &early) })

	writerIDs := make([][]uuid.UUID, writers) // each writer writes only its own slot
	var wg sync.WaitGroup
	for w := range writers {
		quota := total / writers
		if w < total%writers {
			quota++
		}
		wg.Go(func() {
			own := make([]uint64, 3) // versions of this writer's own streams
			for i := 0; len(writerIDs[w]) < quota; i++ {
				n := min(1+i%4, quota-len(writerIDs[w]))
				batch := numbered(fmt.Sprintf("W%d", w), len(writerIDs[w]), n)
				var err error
				if i%3 == 2 {
					// Shared streams: writers interleave, the store orders.
					_, err = st.Append(ctx, fmt.Sprintf("shared-%d", i%2), eventstore.Any, batch...)
				} else {
					k := i % len(own)
					_, err = st.Append(ctx, fmt.Sprintf("writer-%d-%d", w, k), eventstore.Exact(own[k]), batch...)
					own[k] += uint64(n)
				}
				if err != nil {
					failures.addf("writer %d, append %d: %v", w, i, err)
					return
				}
				writerIDs[w] = append(writerIDs[w], ids(batch)...)
				if appended.Add(int64(n)) >= int64(total/3) {
					thirdIn()
				}
			}
		})
	}

	// A reader that keeps reading the whole log while it grows: every
	// snapshot must be a consistent prefix of the final log.
	var snapshots [][]uuid.UUID
	var stop atomic.Bool
	readers.Go(func() {
		for pass := 0; !stop.Load() && pass < 100; pass++ {
			evs, err := collect(st.ReadAll(ctx, eventstore.ReadAllOptions{}))
			if err != nil {
				failures.addf("reader, pass %d: %v", pass, err)
				return
			}
			if !checkOrder(fmt.Sprintf("reader pass %d", pass), evs) {
				return
			}
			snapshots = append(snapshots, recordedIDs(evs))
		}
	})
	// The second subscriber joins once a third of the events are in.
	readers.Go(func() {
		select {
		case <-third:
		case <-writersDone:
		}
		subscribe("subscriber joining midway", &late)
	})

	wg.Wait()
	close(writersDone)
	stop.Store(true)
	readers.Wait()
	failures.check(t)

	final := readAll(t, st, eventstore.ReadAllOptions{})
	equal(t, total, len(final), "events in the log")
	if !checkOrder("ReadAll after the writers", final) {
		failures.check(t)
	}
	want := make(map[uuid.UUID]bool, total)
	for _, w := range writerIDs {
		for _, id := range w {
			want[id] = true
		}
	}
	equal(t, total, len(want), "distinct event IDs appended")
	for _, e := range final {
		isTrue(t, want[e.ID], "event %s in the log was never appended", e.ID)
	}
	finalIDs := recordedIDs(final)
	for who, got := range map[string][]eventstore.RecordedEvent{"subscriber from the start": early, "subscriber joining midway": late} {
		if !checkOrder(who, got) {
			failures.check(t)
		}
		equal(t, finalIDs, recordedIDs(got), "%s: the events, in the log's order", who)
		equal(t, positions(final), positions(got), "%s: positions", who)
	}
	for i, snap := range snapshots {
		equal(t, finalIDs[:len(snap)], snap, "reader pass %d is a prefix of the final log", i)
	}
}
