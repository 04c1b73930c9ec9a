package projection_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/logtest"
	"github.com/chronicle-go/chronicle/projection"
)

// losableClaims hands out claims whose loss the test decides.
type losableClaims struct {
	projection.CheckpointStore[*projection.MemoryTx]
	claims chan *losableClaim
}

type losableClaim struct {
	projection.Claim[*projection.MemoryTx]
	lost chan struct{}
}

func (c *losableClaim) Lost() <-chan struct{} { return c.lost }

func (s *losableClaims) Claim(ctx context.Context, name string, filter eventstore.Filter) (projection.Claim[*projection.MemoryTx], error) {
	c, err := s.CheckpointStore.Claim(ctx, name, filter)
	if err != nil {
		return nil, err
	}
	lc := &losableClaim{Claim: c, lost: make(chan struct{})}
	s.claims <- lc
	return lc, nil
}

// The runner reads the log through the batching reader the saga engine and
// the relay share (internal/batch), whose race d553e37 fixed: the reader
// goroutine may see a cancellation first. Whichever of the reader and the
// runner sees it first, and whether it comes while a batch applies or while
// the runner waits for events, the runner must stop for the right reason:
// on the end of its context, quietly; on the loss of its claim, saying so
// (and claiming again); and no event is applied twice or missed. Many runs:
// the outcome of a select with two ready cases is random.
func TestRunnerStopsForTheContextOrTheClaim(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	cps := &losableClaims{CheckpointStore: mem, claims: make(chan *losableClaim, 8)}
	logs := &logtest.Recorder{}
	cfg := fast
	cfg.Logger = slog.New(logs)
	r, err := projection.NewRunner(store, cps, cfg, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	var gate sync.Mutex
	var gated string
	entering, proceed := make(chan struct{}), make(chan struct{})
	b.failOn(func(e eventstore.RecordedEvent) error {
		gate.Lock()
		held := e.StreamID == gated
		if held {
			gated = "" // once: a batch that did not commit is applied again freely
		}
		gate.Unlock()
		if held {
			entering <- struct{}{}
			<-proceed
		}
		return nil
	})
	const lostMsg = "lost or gave up ownership; claiming again"
	for run := range 200 {
		loseClaim, duringBatch := run%2 == 1, run%4 >= 2
		stream := fmt.Sprintf("race-%d", run)
		gate.Lock()
		gated = stream
		gate.Unlock()
		_, logged := logs.Since(0)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		claim := <-cps.claims
		pos := appendEvents(t, store, reg, stream, Deposited{Account: stream, Amount: 1})[0]
		<-entering
		stop := func() {
			if loseClaim {
				close(claim.lost)
			} else {
				cancel()
			}
		}
		if duringBatch {
			stop()
			time.Sleep(time.Millisecond) // let the reader goroutine see it first
			proceed <- struct{}{}
		} else {
			proceed <- struct{}{}
			eventually(t, "the event's checkpoint", func() bool { return !record(t, mem, "balances").Checkpoint.Before(pos) })
			stop() // the runner waits for events, or is about to
		}
		if loseClaim {
			eventually(t, "the runner to say it lost its claim", func() bool {
				lines, _ := logs.Since(logged)
				return strings.Contains(strings.Join(lines, "\n"), lostMsg)
			})
			<-cps.claims // it claimed again
			cancel()
		}
		if err := <-done; err != nil {
			t.Fatalf("run %d: Run = %v", run, err)
		}
		for {
			select {
			case <-cps.claims: // a claim after the loss, taken before the cancellation
				continue
			default:
			}
			break
		}
		lines, _ := logs.Since(logged)
		var lost []string
		for _, l := range lines {
			if strings.HasPrefix(l, lostMsg) {
				lost = append(lost, l)
			}
		}
		switch {
		case loseClaim && (len(lost) != 1 || !strings.HasSuffix(lost[0], ": "+projection.ErrClaimLost.Error())):
			t.Fatalf("run %d (during a batch %v): the claim was lost; the runner logged %q", run, duringBatch, lines)
		case !loseClaim && len(lost) != 0:
			t.Fatalf("run %d (during a batch %v): the context ended; the runner logged %q", run, duringBatch, lines)
		}
	}
	// A batch a stop cut short is applied by the next owner, once.
	last := appendEvents(t, store, reg, "race-end", Deposited{Account: "end", Amount: 1})[0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-cps.claims
	eventually(t, "the checkpoint to reach the head", func() bool { return !record(t, mem, "balances").Checkpoint.Before(last) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.checkOnce(t, store)
}

// A rebuild reads the log through the same batching reader (a finite
// sequence), where the race is worse: a cancellation taken for the end of
// the log would end a partial replay as complete. Cancelled while a batch
// applies — before the reader or after it sees the cancellation — a
// rebuild without Run is incomplete, its record stays Rebuilding, and the
// next rebuild replays the whole log once.
func TestRebuildCancelledIsIncomplete(t *testing.T) {
	reg := registry(t)
	store := memory.New(memory.Config{})
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	for i := range 40 {
		appendEvents(t, store, reg, fmt.Sprintf("acct-%d", i%4), Deposited{Account: fmt.Sprint(i % 4), Amount: 1})
	}
	cfg := fast
	cfg.RebuildBatchSize = 4
	r, err := projection.NewRunner(store, mem, cfg, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	for run := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		at := run % 40 // the event whose handler cancels
		n := 0
		b.failOn(func(eventstore.RecordedEvent) error {
			if n++; n == at+1 {
				cancel()
				if run%2 == 1 {
					time.Sleep(time.Millisecond) // let the reader goroutine see it first
				}
			}
			return nil
		})
		err := r.Rebuild(ctx, "balances", projection.RebuildOptions{})
		cancel()
		if !errors.Is(err, projection.ErrRebuildIncomplete) || !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d (cancelled at event %d): Rebuild = %v, want incomplete, cancelled", run, at, err)
		}
		if rec := record(t, mem, "balances"); rec.State != projection.Rebuilding {
			t.Fatalf("run %d (cancelled at event %d): record %+v, want Rebuilding", run, at, rec)
		}
	}
	b.failOn(func(eventstore.RecordedEvent) error { return nil })
	if err := r.Rebuild(context.Background(), "balances", projection.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	b.checkOnce(t, store)
	for i := range 4 {
		if v, _ := b.balance.Get(fmt.Sprint(i)); v != 10 {
			t.Fatalf("balance %d = %d, want 10", i, v)
		}
	}
}
