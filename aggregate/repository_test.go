package aggregate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func newAccounts(t *testing.T, store eventstore.Store, cfg aggregate.Config[*Account]) *aggregate.Repository[*Account] {
	t.Helper()
	if cfg.Type == "" {
		cfg.Type = "account"
	}
	repo, err := aggregate.NewRepository(store, registry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestConfigValidate(t *testing.T) {
	_, err := aggregate.NewRepository[*Account](nil, nil, aggregate.Config[*Account]{SnapshotSchema: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"nil event store", "nil registry", "Type is empty", "SnapshotSchema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := (aggregate.Config[*Account]{Type: "x"}).Validate(); err != nil {
		t.Errorf("pointer to struct without New: %v", err)
	}
	if err := (aggregate.Config[*aggregate.State[int]]{Type: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "decider's New") {
		t.Errorf("decider state without New: %v", err)
	}
	if err := (aggregate.Config[*Account]{Type: "a\nb"}).Validate(); err == nil {
		t.Error("control character in Type accepted")
	}
}

func TestLoadMissing(t *testing.T) {
	ctx := context.Background()
	repo := newAccounts(t, memory.New(memory.Config{}), aggregate.Config[*Account]{})
	_, err := repo.Load(ctx, "nobody")
	if !errors.Is(err, aggregate.ErrNotFound) || !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("Load of a missing aggregate: %v, want ErrNotFound and ErrStreamNotFound", err)
	}
	nf, ok := errors.AsType[*aggregate.NotFoundError](err)
	if !ok || nf.Stream != "account-nobody" || nf.ID != "nobody" || nf.Type != "account" {
		t.Fatalf("NotFoundError = %+v", nf)
	}
	a, err := repo.LoadOrNew(ctx, "nobody")
	if err != nil || a.Version() != 0 || a.AggregateID() != "nobody" || a.Opened {
		t.Fatalf("LoadOrNew = %+v, %v", a, err)
	}
	if _, err := repo.Load(ctx, ""); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Fatalf("Load(\"\") = %v, want ErrInvalidID", err)
	}
	if _, err := repo.New(""); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Fatalf("New(\"\") = %v, want ErrInvalidID", err)
	}
}

func TestSaveAndLoad(t *testing.T) {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	repo := newAccounts(t, store, aggregate.Config[*Account]{})
	a, err := repo.New("1")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open("ann"); err != nil {
		t.Fatal(err)
	}
	a.Deposit(10)
	if got := len(a.Uncommitted()); got != 2 {
		t.Fatalf("%d uncommitted, want 2", got)
	}
	res, err := repo.Save(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stream != "account-1" || res.From != 1 || res.To != 2 || len(res.EventIDs) != 2 || len(res.Positions) != 2 {
		t.Fatalf("Save = %+v", res)
	}
	if a.Version() != 2 || len(a.Uncommitted()) != 0 {
		t.Fatalf("after save: version %d, %d uncommitted", a.Version(), len(a.Uncommitted()))
	}
	// Saving nothing appends nothing.
	if res, err := repo.Save(ctx, a); err != nil || res.To != 0 || store.Len() != 2 {
		t.Fatalf("empty save = %+v, %v; log has %d events", res, err, store.Len())
	}
	// The stored events carry the registered names.
	var types []string
	for e, err := range store.ReadStream(ctx, "account-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != "AccountOpened" || types[1] != "Deposited" {
		t.Fatalf("stored types %v", types)
	}
	b, err := repo.Load(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if !b.Opened || b.Balance != 10 || b.Version() != 2 || b.AggregateID() != "1" {
		t.Fatalf("loaded %+v", b)
	}
	if err := b.Withdraw(11); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("Withdraw = %v", err)
	}
}

func TestSaveConflict(t *testing.T) {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	repo := newAccounts(t, store, aggregate.Config[*Account]{})
	a, _ := repo.New("1")
	_ = a.Open("ann")
	if _, err := repo.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	x, _ := repo.Load(ctx, "1")
	y, _ := repo.Load(ctx, "1")
	x.Deposit(5)
	y.Deposit(7)
	if _, err := repo.Save(ctx, x); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Save(ctx, y)
	if !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("stale save = %v, want a concurrency conflict", err)
	}
	ce, ok := errors.AsType[*eventstore.ConflictError](err)
	if !ok || ce.Stream != "account-1" || ce.Expected != eventstore.Exact(1) || ce.Actual != 2 {
		t.Fatalf("conflict = %+v", ce)
	}
	if y.Version() != 1 || len(y.Uncommitted()) != 1 {
		t.Fatalf("a refused save changed the aggregate: version %d, %d uncommitted", y.Version(), len(y.Uncommitted()))
	}
	// Creating an aggregate that exists is a conflict too.
	dup, _ := repo.New("1")
	_ = dup.Open("bob")
	if _, err := repo.Save(ctx, dup); !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("second creation = %v, want a conflict", err)
	}
	if store.Len() != 2 {
		t.Fatalf("log has %d events, want 2", store.Len())
	}
}

func TestSaveWithoutID(t *testing.T) {
	repo := newAccounts(t, memory.New(memory.Config{}), aggregate.Config[*Account]{})
	a := &Account{}
	a.Deposit(1)
	if _, err := repo.Save(context.Background(), a); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Fatalf("Save without ID = %v", err)
	}
	if _, err := repo.Save(context.Background(), nil); err == nil {
		t.Fatal("Save(nil) succeeded")
	}
}

func TestUnregisteredEventIsRefused(t *testing.T) {
	type Unknown struct{}
	repo := newAccounts(t, memory.New(memory.Config{}), aggregate.Config[*Account]{})
	a, _ := repo.New("1")
	aggregate.Record(a, Unknown{})
	if _, err := repo.Save(context.Background(), a); !errors.Is(err, eventstore.ErrUnknownEventType) {
		t.Fatalf("Save = %v, want ErrUnknownEventType", err)
	}
}

func TestStreamNaming(t *testing.T) {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	repo := newAccounts(t, store, aggregate.Config[*Account]{
		Type:     "acct",
		StreamID: func(id string) string { return "bank/accounts/" + id },
	})
	if repo.StreamID("9") != "bank/accounts/9" || repo.Type() != "acct" {
		t.Fatal(repo.StreamID("9"))
	}
	a, _ := repo.New("9")
	_ = a.Open("z")
	if _, err := repo.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	streams, _ := store.Streams(ctx)
	if len(streams) != 1 || streams[0].ID != "bank/accounts/9" {
		t.Fatalf("streams %+v", streams)
	}
	def := newAccounts(t, store, aggregate.Config[*Account]{Type: "acct"})
	if def.StreamID("9") != "acct-9" {
		t.Fatal(def.StreamID("9"))
	}
}

func TestScopeMetadataAndDeterministicIDs(t *testing.T) {
	store := memory.New(memory.Config{})
	repo := newAccounts(t, store, aggregate.Config[*Account]{})
	cmdID := uuid.New()
	unit := &aggregate.Unit{Seed: cmdID, Metadata: eventstore.Metadata{CausationID: cmdID.String(), CorrelationID: "corr-1"}}
	ctx := aggregate.WithUnit(context.Background(), unit)
	a, _ := repo.LoadOrNew(ctx, "1")
	_ = a.Open("ann")
	a.Deposit(3)
	res, err := repo.Save(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range res.EventIDs {
		if want := aggregate.EventID(cmdID, "account-1", i); id != want {
			t.Fatalf("event %d ID %s, want %s", i, id, want)
		}
	}
	got := unit.Appended()
	if len(got) != 1 || got[0].To != 2 {
		t.Fatalf("unit recorded %+v", got)
	}
	for e, err := range store.ReadStream(context.Background(), "account-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Metadata.CausationID != cmdID.String() || e.Metadata.CorrelationID != "corr-1" {
			t.Fatalf("event %d metadata %+v", e.Version, e.Metadata)
		}
	}
	// The same command loading the aggregate again learns it was applied.
	replay := &aggregate.Unit{Seed: cmdID}
	_, err = repo.Load(aggregate.WithUnit(context.Background(), replay), "1")
	applied, ok := errors.AsType[*aggregate.AlreadyAppliedError](err)
	if !ok || !errors.Is(err, aggregate.ErrAlreadyApplied) {
		t.Fatalf("Load in the same command's unit = %v", err)
	}
	if applied.Appended.From != 1 || applied.Appended.To != 2 || applied.Appended.EventIDs[1] != res.EventIDs[1] ||
		applied.Appended.Positions[1] != res.Positions[1] {
		t.Fatalf("original result %+v, want %+v", applied.Appended, res)
	}
	// Another command loads normally.
	if _, err := repo.Load(aggregate.WithUnit(context.Background(), &aggregate.Unit{Seed: uuid.New()}), "1"); err != nil {
		t.Fatal(err)
	}
}

// A save whose derived IDs are stored further back in the stream (the
// handler decided on a state loaded outside the command's unit) is
// recognised as already applied, and appends nothing.
func TestSaveRecognisesAppliedIDsFurtherBack(t *testing.T) {
	store := memory.New(memory.Config{})
	repo := newAccounts(t, store, aggregate.Config[*Account]{})
	plain := context.Background()
	a, _ := repo.New("1")
	_ = a.Open("ann")
	if _, err := repo.Save(plain, a); err != nil {
		t.Fatal(err)
	}
	cmdID := uuid.New()
	seeded := func() context.Context {
		return aggregate.WithUnit(context.Background(), &aggregate.Unit{Seed: cmdID})
	}
	a.Deposit(5)
	first, err := repo.Save(seeded(), a)
	if err != nil || first.From != 2 {
		t.Fatalf("first = %+v, %v", first, err)
	}
	a.Deposit(1)
	if _, err := repo.Save(plain, a); err != nil {
		t.Fatal(err)
	}
	again, err := repo.Load(plain, "1")
	if err != nil {
		t.Fatal(err)
	}
	again.Deposit(5)
	_, err = repo.Save(seeded(), again)
	applied, ok := errors.AsType[*aggregate.AlreadyAppliedError](err)
	if !ok {
		t.Fatalf("Save = %v, want AlreadyAppliedError", err)
	}
	if applied.Appended.From != 2 || applied.Appended.To != 2 || applied.Appended.EventIDs[0] != first.EventIDs[0] {
		t.Fatalf("original %+v, want %+v", applied.Appended, first)
	}
	if store.Len() != 3 {
		t.Fatalf("log has %d events, want 3", store.Len())
	}
	// Right after the expected version, the store's own idempotent append
	// answers with the original result.
	b, _ := repo.Load(plain, "1")
	c, _ := repo.Load(plain, "1")
	id2 := uuid.New()
	b.Deposit(2)
	c.Deposit(2)
	r1, err := repo.Save(aggregate.WithUnit(plain, &aggregate.Unit{Seed: id2}), b)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Save(aggregate.WithUnit(plain, &aggregate.Unit{Seed: id2}), c)
	if err != nil || r2.To != r1.To || r2.Positions[0] != r1.Positions[0] || store.Len() != 4 {
		t.Fatalf("duplicate save = %+v, %v (first %+v); log has %d", r2, err, r1, store.Len())
	}
}
