package projection_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/unreadable"
	"github.com/chronicle-go/chronicle/projection"
)

// An event the store cannot return (an *eventstore.UnreadableEventError
// from its reads) is treated like an event whose handler fails: read again
// with back-off, then the projection stops Failed at it, with the store's
// error shown; it never stalls forever nor is skipped silently. Retry reads
// it again; Skip moves past it. Status still works meanwhile.
func TestUnreadableEventStopsThenRetryAndSkip(t *testing.T) {
	reg := registry(t)
	store := unreadable.Wrap(memory.New(memory.Config{}))
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	for i := range 20 {
		appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: i})
	}
	bad := appendEvents(t, store, reg, "acct-b", Deposited{Account: "b", Amount: 1})[0]
	for range 10 {
		appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})
	}
	store.Poison(bad, -1)
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "the projection to fail", func() bool { return record(t, mem, "balances").State == projection.Failed })
	rec := record(t, mem, "balances")
	if f := rec.Failure; f == nil || f.Position != bad || f.Attempts != 3 || f.Stream != "acct-b" || f.Version != 1 ||
		f.Type != "Deposited" || !strings.Contains(f.Error, "unreadable event") || !strings.Contains(f.Error, unreadable.Cause.Error()) {
		t.Fatalf("failure %+v", rec.Failure)
	}
	if hits := store.Hits(bad); hits != 3 || b.applied.Len() != 20 || rec.Handled != 20 {
		t.Fatalf("%d reads failed, %d events applied (%d handled); want 3, and the 20 before it", hits, b.applied.Len(), rec.Handled)
	}
	// Status counts the event the projection stopped at and the ten after
	// it without reading it again (a read that fails can cost the server
	// seconds and a gigabyte: not on every status call).
	sts, err := r.Status(context.Background())
	if err != nil || len(sts) != 1 || sts[0].LagAtLeast || sts[0].LagEvents != 11 || sts[0].Lag <= 0 || sts[0].Head != head(t, store) {
		t.Fatalf("status of a projection stopped at an unreadable event: %+v %v", sts, err)
	}
	if hits := store.Hits(bad); hits != 3 {
		t.Fatalf("status read the unreadable event again: %d failed reads, want 3", hits)
	}

	// Still unreadable: a retry fails again, three reads later.
	hits := store.Hits(bad)
	if err := r.Retry(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried projection to fail again", func() bool {
		return store.Hits(bad) == hits+3 && record(t, mem, "balances").State == projection.Failed
	})
	// Skip it: the rest is applied, the unreadable event never is.
	if err := r.Skip(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the projection to pass the skipped event", func() bool { return b.applied.Len() == 30 })
	rec = record(t, mem, "balances")
	if rec.State != projection.Running || rec.Checkpoint != head(t, store) || store.Hits(bad) != hits+3 {
		t.Fatalf("after skip: %+v, %d failed reads", rec, store.Hits(bad))
	}

	// A read that fails once, then succeeds, costs a retry and nothing else.
	flaky := appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})[0]
	store.Poison(flaky, 0)
	store.Poison(flaky, 1)
	appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: 1})
	eventually(t, "the flaky event to be applied", func() bool { return b.applied.Len() == 32 })
	if rec := record(t, mem, "balances"); rec.State != projection.Running || rec.Failure != nil {
		t.Fatalf("after a transient unreadable event: %+v", rec)
	}
}

// A rebuild that meets an unreadable event stops there like the live
// runner does, and says so; skipping it finishes the read model.
func TestUnreadableEventDuringRebuild(t *testing.T) {
	reg := registry(t)
	inner := memory.New(memory.Config{})
	store := unreadable.Wrap(inner)
	mem := projection.NewMemoryStore()
	b := newBalances("balances", reg, mem)
	var bad eventstore.Position
	for i := range 50 {
		p := appendEvents(t, store, reg, "acct-a", Deposited{Account: "a", Amount: i})[0]
		if i == 30 {
			bad = p
		}
	}
	r, err := projection.NewRunner(store, mem, fast, b.proj)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rebuild(context.Background(), "balances", projection.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	store.Poison(bad, -1)
	err = r.Rebuild(context.Background(), "balances", projection.RebuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "rebuild stopped at the event at "+bad.String()) || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("rebuild over an unreadable event: %v", err)
	}
	if rec := record(t, mem, "balances"); rec.State != projection.Failed || rec.Failure.Position != bad || rec.Handled != 30 {
		t.Fatalf("after the rebuild: %+v", rec)
	}
	start(t, r)
	if err := r.Skip(context.Background(), "balances"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rest after the skipped event", func() bool { return b.applied.Len() == 49 })
	if v, _ := b.balance.Get("a"); v != 49*50/2-30 {
		t.Fatalf("balance %d, want the sum without the skipped event", v)
	}
}
