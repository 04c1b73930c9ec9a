package projection_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/projection"
)

// seen is a read model keeping the IDs of the events it applied.
func seenProjection(mem *projection.MemoryStore, gate <-chan struct{}) (*projection.Projection[*projection.MemoryTx], *projection.Table[uuid.UUID, bool]) {
	seen := projection.NewTable[uuid.UUID, bool](mem)
	p := projection.New[*projection.MemoryTx]("seen", nil)
	p.Handle("Seen", projection.HandlerFunc[*projection.MemoryTx](func(ctx context.Context, tx *projection.MemoryTx, e eventstore.RecordedEvent) error {
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		seen.Put(tx, e.ID, true)
		return nil
	}))
	return p, seen
}

// Read your writes under concurrent appends: every writer, after each of
// its appends, waits for the runner and must then find its event in the
// read model — also when it appended an event the projection does not
// handle, after which WaitFor must return as well.
func TestWaitForUnderConcurrentAppends(t *testing.T) {
	store := memory.New(memory.Config{})
	defer store.Close()
	mem := projection.NewMemoryStore()
	p, seen := seenProjection(mem, nil)
	r, err := projection.NewRunner(store, mem, projection.Config{BatchSize: 7}, p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	const writers, appends = 6, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				typ := "Seen"
				if i%3 == 2 {
					typ = "Other" // not handled: WaitFor must not wait for it to be applied
				}
				e := eventstore.NewEvent(typ, []byte(`{}`))
				res, err := store.Append(ctx, fmt.Sprintf("w-%d-%d", w, i%4), eventstore.Any, e)
				if err != nil {
					t.Error(err)
					return
				}
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				err = r.WaitFor(wctx, res.Positions[0])
				wcancel()
				if err != nil {
					t.Errorf("writer %d append %d: WaitFor: %v", w, i, err)
					return
				}
				if _, ok := seen.Get(e.ID); typ == "Seen" && !ok {
					t.Errorf("writer %d append %d: WaitFor returned before the event was applied", w, i)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := seen.Len(); n != writers*appends*2/3 {
		t.Fatalf("%d events applied, want %d", n, writers*appends*2/3)
	}
	cancel()
	<-done
}

func TestWaitForEndsWithTheContextAndAFailure(t *testing.T) {
	store := memory.New(memory.Config{})
	defer store.Close()
	mem := projection.NewMemoryStore()
	p, _ := seenProjection(mem, nil)
	r, err := projection.NewRunner(store, mem, projection.Config{MaxAttempts: 1}, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), "s", eventstore.Any, eventstore.NewEvent("Seen", []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	// Not running: nothing is applied, WaitFor ends with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.WaitFor(ctx, res.Positions[0]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor on a runner that is not running: %v", err)
	}
	if err := r.WaitForProjection(context.Background(), "nope", res.Positions[0]); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("WaitForProjection of an unknown projection: %v", err)
	}

	// A projection stopped at a failed event before the position: WaitFor
	// fails at once rather than waiting forever.
	bad := projection.New[*projection.MemoryTx]("bad", nil)
	bad.Handle("Seen", projection.HandlerFunc[*projection.MemoryTx](func(context.Context, *projection.MemoryTx, eventstore.RecordedEvent) error {
		return errors.New("poison")
	}))
	r2, err := projection.NewRunner(store, projection.NewMemoryStore(), projection.Config{MaxAttempts: 1}, bad)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go r2.Run(rctx)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	var werr *projection.WaitError
	if err := r2.WaitFor(wctx, res.Positions[0]); !errors.As(err, &werr) || !errors.Is(err, projection.ErrFailed) || werr.Failure.EventID == uuid.Nil {
		t.Fatalf("WaitFor past a failed event: %v", err)
	}
}

// A paused projection's lag, in the metrics, rises while events are
// appended and falls back to 0 once it resumes; its applied count and
// batch durations are recorded.
func TestLagMetrics(t *testing.T) {
	sdk := telemetrytest.New(t)
	store := memory.New(memory.Config{})
	defer store.Close()
	mem := projection.NewMemoryStore()
	gate := make(chan struct{})
	p, seen := seenProjection(mem, gate)
	r, err := projection.NewRunner(store, mem, projection.Config{TracerProvider: sdk.TracerProvider, MeterProvider: sdk.MeterProvider}, p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	lag := func() (events, seconds float64) {
		events, ok := sdk.Value(t, "chronicle.projection.lag", "chronicle.projection=seen")
		if !ok {
			return -1, -1
		}
		seconds, _ = sdk.Value(t, "chronicle.projection.lag.duration", "chronicle.projection=seen")
		return events, seconds
	}
	appendN := func(n int) eventstore.Position {
		var last eventstore.Position
		for range n {
			res, err := store.Append(ctx, "s", eventstore.Any, eventstore.NewEvent("Seen", []byte(`{}`)))
			if err != nil {
				t.Fatal(err)
			}
			last = res.Positions[0]
		}
		return last
	}
	appendN(5)
	// The runner registers its gauges and claims the projection as it
	// starts.
	first, _ := lag()
	for deadline := time.Now().Add(10 * time.Second); first != 5 && time.Now().Before(deadline); first, _ = lag() {
		time.Sleep(time.Millisecond)
	}
	if first != 5 {
		t.Fatalf("lag %v with 5 events appended and the handler paused, want 5", first)
	}
	time.Sleep(20 * time.Millisecond) // the oldest waiting event ages
	last := appendN(7)
	second, age := lag()
	if second != 12 || age < 0.02 {
		t.Fatalf("lag %v events, %vs after 7 more, want 12 and at least 0.02s", second, age)
	}
	close(gate)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := r.WaitFor(wctx, last); err != nil {
		t.Fatal(err)
	}
	if events, seconds := lag(); events != 0 || seconds != 0 {
		t.Fatalf("lag %v events, %vs once caught up, want 0", events, seconds)
	}
	if seen.Len() != 12 {
		t.Fatalf("%d applied", seen.Len())
	}
	if v, _ := sdk.Value(t, "chronicle.projection.events.applied", "chronicle.projection=seen"); v != 12 {
		t.Fatalf("applied counter %v, want 12", v)
	}
	if v, _ := sdk.Value(t, "chronicle.projection.failed", "chronicle.projection=seen"); v != 0 {
		t.Fatalf("failed gauge %v", v)
	}
	// Each batch is a span linked to the appends of its events.
	batches := sdk.Ended("projection seen")
	if len(batches) == 0 {
		t.Fatal("no batch spans")
	}
	links := 0
	for _, b := range batches {
		links += len(b.Links())
		if b.Parent().IsValid() {
			t.Fatal("a batch span has a parent: batches start their own traces")
		}
	}
	if appends := len(sdk.Ended("eventstore.append")); appends != 0 {
		t.Fatalf("the store has no SDK, yet %d append spans", appends)
	}
	_ = links // the store here records no trace context; the e-commerce test checks the links
	cancel()
	<-done
	if _, ok := sdk.Value(t, "chronicle.projection.lag", "chronicle.projection=seen"); ok {
		t.Fatal("the lag is still observed after Run returned")
	}
}
