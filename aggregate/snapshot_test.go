package aggregate_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/aggregate/snapshottest"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func TestEveryN(t *testing.T) {
	p := aggregate.EveryN(100)
	for _, c := range []struct {
		from, to uint64
		want     bool
	}{{0, 1, false}, {0, 99, false}, {0, 100, true}, {99, 100, true}, {100, 101, false}, {150, 250, true}, {101, 199, false}} {
		if got := p(aggregate.SnapshotDecision{From: c.from, To: c.to}); got != c.want {
			t.Errorf("EveryN(100) from %d to %d = %v", c.from, c.to, got)
		}
	}
	if aggregate.EveryN(0)(aggregate.SnapshotDecision{From: 0, To: 1000}) {
		t.Error("EveryN(0) snapshots")
	}
}

func TestMemorySnapshotsKeepTheNewest(t *testing.T) {
	ctx := context.Background()
	var m aggregate.MemorySnapshots
	if _, ok, err := m.LoadSnapshot(ctx, "s"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	_ = m.SaveSnapshot(ctx, aggregate.Snapshot{Stream: "s", Type: "t", SchemaVersion: 1, Version: 200, Data: []byte(`{"a":2}`)})
	_ = m.SaveSnapshot(ctx, aggregate.Snapshot{Stream: "s", Type: "t", SchemaVersion: 1, Version: 100, Data: []byte(`{"a":1}`)})
	s, ok, err := m.LoadSnapshot(ctx, "s")
	if !ok || err != nil || s.Version != 200 || string(s.Data) != `{"a":2}` {
		t.Fatalf("LoadSnapshot = %+v %v %v", s, ok, err)
	}
}

// loadBig builds an account with n deposits saved in batches, snapshotting
// every 100 events.
func buildAccount(t *testing.T, repo *aggregate.Repository[*Account], id string, n, batch int) {
	t.Helper()
	ctx := context.Background()
	a, _ := repo.New(id)
	for done := 0; done < n; {
		for i := 0; i < batch && done < n; i++ {
			a.Deposit(1)
			done++
		}
		if _, err := repo.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadFromSnapshotReadsOnlyTheTail(t *testing.T) {
	const n = 100_000
	ctx := context.Background()
	store := &countingStore{Store: memory.New(memory.Config{})}
	snaps := &aggregate.MemorySnapshots{}
	repo := newAccounts(t, store, aggregate.Config[*Account]{Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(100)})
	buildAccount(t, repo, "big", n, 7)

	s, ok, _ := snaps.LoadSnapshot(ctx, "account-big")
	if !ok || s.Version < n-100 || s.Type != "account" || s.SchemaVersion != 1 {
		t.Fatalf("latest snapshot %+v (found %v)", s, ok)
	}
	store.read.Store(0)
	a, err := repo.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if read := store.read.Load(); read > 100 {
		t.Fatalf("loading a %d-event aggregate read %d events, want at most 100", n, read)
	}
	if a.Version() != n || a.Balance != n || a.Moves != n {
		t.Fatalf("loaded version %d, balance %d, moves %d; want %d", a.Version(), a.Balance, a.Moves, n)
	}
	// Without snapshots the same aggregate reads every event, and agrees.
	plain := newAccounts(t, store, aggregate.Config[*Account]{})
	store.read.Store(0)
	b, err := plain.Load(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if store.read.Load() != n || b.Balance != a.Balance || b.Version() != a.Version() {
		t.Fatalf("full load read %d, balance %d version %d", store.read.Load(), b.Balance, b.Version())
	}
}

// AccountV2 stores the balance in cents under the same JSON name: a snapshot
// of the old shape read as the new one would be off by a factor of 100.
type AccountV2 struct {
	aggregate.Root
	Balance int `json:"Balance"` // cents
}

func (a *AccountV2) Apply(e any) {
	switch e := e.(type) {
	case Deposited:
		a.Balance += 100 * e.Amount
	case Withdrawn:
		a.Balance -= 100 * e.Amount
	}
}

func TestSnapshotOfAnotherSchemaVersionIsIgnored(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memory.New(memory.Config{})}
	snaps := &aggregate.MemorySnapshots{}
	v1 := newAccounts(t, store, aggregate.Config[*Account]{Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(5)})
	buildAccount(t, v1, "1", 25, 5)
	if s, ok, _ := snaps.LoadSnapshot(ctx, "account-1"); !ok || s.Version != 25 || s.SchemaVersion != 1 {
		t.Fatalf("v1 snapshot %+v", s)
	}
	v2, err := aggregate.NewRepository(store, registry(), aggregate.Config[*AccountV2]{
		Type: "account", Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(10), SnapshotSchema: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	store.read.Store(0)
	a, err := v2.Load(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != 2500 || a.Version() != 25 {
		t.Fatalf("v2 loaded balance %d at version %d, want 2500 at 25 (the v1 snapshot was misread)", a.Balance, a.Version())
	}
	if store.read.Load() != 25 {
		t.Fatalf("v2 read %d events, want all 25", store.read.Load())
	}
	// The next v2 snapshot replaces the v1 one and is used from then on.
	for range 10 {
		aggregate.Record(a, Deposited{Amount: 1})
	}
	if _, err := v2.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := snaps.LoadSnapshot(ctx, "account-1"); s.SchemaVersion != 2 || s.Version != 35 {
		t.Fatalf("snapshot after the v2 save %+v", s)
	}
	store.read.Store(0)
	b, err := v2.Load(ctx, "1")
	if err != nil || b.Balance != 3500 || store.read.Load() != 0 {
		t.Fatalf("v2 reload: balance %d, read %d, %v", b.Balance, store.read.Load(), err)
	}
	// And the v1 code, in turn, ignores the v2 snapshot.
	c, err := v1.Load(ctx, "1")
	if err != nil || c.Balance != 35 {
		t.Fatalf("v1 reload: balance %d, %v", c.Balance, err)
	}
}

func TestBrokenOrForeignSnapshotsAreIgnored(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memory.New(memory.Config{})}
	snaps := &aggregate.MemorySnapshots{}
	repo := newAccounts(t, store, aggregate.Config[*Account]{Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(1000)})
	buildAccount(t, repo, "1", 12, 4)
	for name, s := range map[string]aggregate.Snapshot{
		"does not decode": {Stream: "account-1", Type: "account", Version: 12, SchemaVersion: 1, Data: []byte(`{"Balance":"x"}`)},
		"another type":    {Stream: "account-1", Type: "loan", Version: 13, SchemaVersion: 1, Data: []byte(`{"Balance":99}`)},
	} {
		t.Run(name, func(t *testing.T) {
			if err := snaps.SaveSnapshot(ctx, s); err != nil {
				t.Fatal(err)
			}
			store.read.Store(0)
			a, err := repo.Load(ctx, "1")
			if err != nil || a.Balance != 12 || store.read.Load() != 12 {
				t.Fatalf("balance %d, read %d, %v", a.Balance, store.read.Load(), err)
			}
		})
	}
}

func TestDecider(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: memory.New(memory.Config{})}
	snaps := &aggregate.MemorySnapshots{}
	repo, err := aggregate.NewRepository(store, registry(), aggregate.Config[*aggregate.State[Counter]]{
		Type: "counter", New: counterDecider.New, Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		res, err := aggregate.Execute(ctx, repo, counterDecider, "c", Increment{By: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.To != uint64(i+1) {
			t.Fatalf("execute %d appended up to version %d", i, res.To)
		}
	}
	s, ok, _ := snaps.LoadSnapshot(ctx, "counter-c")
	var stored struct {
		Value Counter `json:"value"`
	}
	if !ok || s.Version != 20 || json.Unmarshal(s.Data, &stored) != nil || stored.Value.N != 40 {
		t.Fatalf("snapshot %+v (%s)", s, s.Data)
	}
	store.read.Store(0)
	st, err := repo.Load(ctx, "c")
	if err != nil || st.Value.N != 50 || st.Version() != 25 || store.read.Load() != 5 {
		t.Fatalf("loaded %+v v%d after reading %d events: %v", st.Value, st.Version(), store.read.Load(), err)
	}
	// A refused command appends nothing.
	_, err = aggregate.Execute(ctx, repo, counterDecider, "c", Increment{By: 2_000_000})
	if err != ErrTooBig {
		t.Fatalf("Execute = %v, want ErrTooBig", err)
	}
	if v, _ := repo.Load(ctx, "c"); v.Version() != 25 {
		t.Fatalf("version %d after a refused command", v.Version())
	}
	var ev []eventstore.RecordedEvent
	for e, err := range store.ReadStream(ctx, "counter-c", eventstore.ReadStreamOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ev = append(ev, e)
	}
	if ev[0].Type != "Incremented" {
		t.Fatalf("stored type %q", ev[0].Type)
	}
}

func TestMemorySnapshotsConformance(t *testing.T) {
	snapshottest.Run(t, func(t *testing.T) aggregate.SnapshotStore { return &aggregate.MemorySnapshots{} })
}
