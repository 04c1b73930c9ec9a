package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestSmallPagesLateCommits: with pages of 5 events, so that every read
// crosses many pages and keeps a page's horizon for the pages after it,
// writers append 1 to 3 events at a time to four streams, two in three
// inside a caller's transaction that commits (or rolls back) up to 30 ms
// after it appended, while three subscriptions follow the log (one from
// the start, one started late so that it catches up through full pages,
// one filtered by a stream prefix). Each delivers exactly the committed
// events, once, in the order of a forward ReadAll, which a backward
// ReadAll reverses.
func TestSmallPagesLateCommits(t *testing.T) {
	const writers, appends = 6, 40
	s, pool, _ := newStoreConfig(t, espg.Config{PageSize: 5, PollInterval: 10 * time.Millisecond, HorizonWait: 5 * time.Millisecond}, pgtest.MaxConns(writers+6))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type follower struct {
		mu  sync.Mutex
		got []eventstore.RecordedEvent
	}
	var subs sync.WaitGroup
	collect := func(filter eventstore.Filter, delay time.Duration) *follower {
		f := &follower{}
		subs.Go(func() {
			time.Sleep(delay)
			for e, err := range s.Subscribe(ctx, eventstore.SubscribeOptions{From: eventstore.Start, Filter: filter}) {
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("subscription: %v", err)
					}
					return
				}
				f.mu.Lock()
				f.got = append(f.got, e)
				f.mu.Unlock()
			}
		})
		return f
	}
	all1 := collect(eventstore.Filter{}, 0)
	all2 := collect(eventstore.Filter{}, 300*time.Millisecond)
	odd := collect(eventstore.Filter{StreamPrefixes: []string{"s-1"}}, 100*time.Millisecond)
	// Paged ReadAlls during the writes: each must return a prefix of the
	// final log (everything below a horizon is final).
	var snapshots [][]eventstore.RecordedEvent
	readersDone := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-readersDone:
				return
			default:
			}
			var got []eventstore.RecordedEvent
			for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
				if err != nil {
					t.Errorf("ReadAll during the writes: %v", err)
					return
				}
				got = append(got, e)
			}
			snapshots = append(snapshots, got)
		}
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[[16]byte]bool{}
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range appends {
				n := 1 + r.IntN(3)
				evs := make([]eventstore.Event, n)
				for k := range evs {
					evs[k] = eventstore.NewEvent("E", fmt.Appendf(nil, `{"w":%d,"i":%d,"k":%d}`, w, i, k))
				}
				stream := fmt.Sprintf("s-%d", r.IntN(4))
				var err error
				switch r.IntN(3) {
				case 0:
					_, err = s.Append(ctx, stream, eventstore.Any, evs...)
				default:
					rollback := r.IntN(5) == 0
					err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						if _, err := s.AppendTx(ctx, tx, stream, eventstore.Any, evs...); err != nil {
							return err
						}
						time.Sleep(time.Duration(r.IntN(30)) * time.Millisecond)
						if rollback {
							return errRollback
						}
						return nil
					})
					if err == errRollback {
						continue
					}
					if err != nil && eventstore.IsRetryable(err) {
						continue
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range evs {
					committed[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(readersDone)
	readers.Wait()
	// Everything is committed, but another transaction in the cluster (of
	// another test) may hold the horizon: read until the log is whole
	// (bounded), forwards and backwards.
	readAll := func(dir eventstore.Direction) []eventstore.RecordedEvent {
		deadline := time.Now().Add(time.Minute)
		for {
			var got []eventstore.RecordedEvent
			for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Direction: dir}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e)
			}
			if len(got) >= len(committed) || time.Now().After(deadline) {
				return got
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	read := readAll(eventstore.Forwards)
	if len(read) != len(committed) {
		t.Fatalf("ReadAll: %d events, %d committed", len(read), len(committed))
	}
	for _, e := range read {
		if !committed[e.ID] {
			t.Fatalf("ReadAll: %s not committed", e.ID)
		}
	}
	back := readAll(eventstore.Backwards)
	slices.Reverse(back)
	same := func(what string, got, want []eventstore.RecordedEvent) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d events, want %d", what, len(got), len(want))
			return
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].Position != want[i].Position {
				t.Errorf("%s: event %d is %v, want %v", what, i, got[i].Position, want[i].Position)
				return
			}
		}
	}
	same("backwards", back, read)
	for i, snap := range snapshots {
		same(fmt.Sprintf("ReadAll %d during the writes", i), snap, read[:min(len(snap), len(read))])
	}
	var want []eventstore.RecordedEvent
	for _, e := range read {
		if strings.HasPrefix(e.StreamID, "s-1") {
			want = append(want, e)
		}
	}
	// Wait (bounded) until each subscription has as many events as it
	// should, and a little longer, so that one delivering too many shows.
	deadline := time.Now().Add(time.Minute)
	for _, c := range []struct {
		f *follower
		n int
	}{{all1, len(read)}, {all2, len(read)}, {odd, len(want)}} {
		for {
			c.f.mu.Lock()
			n := len(c.f.got)
			c.f.mu.Unlock()
			if n >= c.n || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	subs.Wait()
	same("subscriber from the start", all1.got, read)
	same("late subscriber", all2.got, read)
	same("filtered subscriber", odd.got, want)
	t.Logf("%d events, %d ReadAlls during the writes", len(read), len(snapshots))
}

var errRollback = fmt.Errorf("rollback")
