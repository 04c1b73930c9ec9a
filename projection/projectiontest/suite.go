package projectiontest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/google/uuid"
)

// Model lets the suite write to a read model through the store's Tx and
// read what was committed.
type Model[Tx any] struct {
	// Write records key in the read model through tx.
	Write func(ctx context.Context, tx Tx, key string) error
	// Has reports whether key is committed in the read model.
	Has func(t testing.TB, key string) bool
	// Reset empties the read model through tx.
	Reset func(ctx context.Context, tx Tx) error
}

// Run runs the suite; newStore returns a fresh, empty store and its model
// for each subtest.
func Run[Tx any](t *testing.T, newStore func(t *testing.T) (projection.CheckpointStore[Tx], Model[Tx])) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, projection.CheckpointStore[Tx], Model[Tx])
	}{
		{"ClaimCreatesRecord", claimCreatesRecord[Tx]},
		{"ClaimIsExclusive", claimIsExclusive[Tx]},
		{"CommitAppliesWithCheckpoint", commitAppliesWithCheckpoint[Tx]},
		{"FailedApplyWritesNothing", failedApplyWritesNothing[Tx]},
		{"FencedCommitWritesNothing", fencedCommitWritesNothing[Tx]},
		{"FailThenRetryAndSkip", failThenRetryAndSkip[Tx]},
		{"ResetEmptiesModelAndCheckpoint", resetEmpties[Tx]},
		{"ReleaseStops", releaseStops[Tx]},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, m := newStore(t)
			c.fn(t, s, m)
		})
	}
}

func pos(n uint64) eventstore.Position { return eventstore.Position{Commit: n, Prepare: n} }

var filter = eventstore.Filter{EventTypes: []string{"A", "B"}, StreamPrefixes: []string{"s-"}}

func claim[Tx any](t *testing.T, s projection.CheckpointStore[Tx], name string) projection.Claim[Tx] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.Claim(ctx, name, filter)
	if err != nil {
		t.Fatalf("claim %q: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Release(context.Background()) })
	return c
}

func record[Tx any](t *testing.T, s projection.CheckpointStore[Tx], name string) projection.Record {
	t.Helper()
	recs, err := s.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no record %q in %+v", name, recs)
	return projection.Record{}
}

func commit[Tx any](t *testing.T, c projection.Claim[Tx], m Model[Tx], from, to eventstore.Position, keys ...string) {
	t.Helper()
	err := c.Commit(context.Background(), from, projection.Advance{To: to, At: time.Now().UTC(), Events: len(keys)}, func(ctx context.Context, tx Tx) error {
		for _, k := range keys {
			if err := m.Write(ctx, tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("commit %v→%v: %v", from, to, err)
	}
}

func claimCreatesRecord[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	claim(t, s, "b")
	c := claim(t, s, "a")
	r, err := c.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "a" || r.State != projection.Running || !r.Checkpoint.IsZero() || r.Handled != 0 || r.Failure != nil ||
		!r.Owned || !slices.Equal(r.Filter.EventTypes, filter.EventTypes) || !slices.Equal(r.Filter.StreamPrefixes, filter.StreamPrefixes) {
		t.Fatalf("new record %+v", r)
	}
	recs, err := s.Records(context.Background())
	if err != nil || len(recs) != 2 || recs[0].Name != "a" || recs[1].Name != "b" || !recs[0].Owned {
		t.Fatalf("records %+v, %v", recs, err)
	}
	if _, err := s.Claim(context.Background(), "", filter); !errors.Is(err, projection.ErrInvalidName) {
		t.Fatalf("claim of an empty name: %v", err)
	}
}

func claimIsExclusive[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	c := claim(t, s, "p")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if c2, err := s.Claim(ctx, "p", filter); err == nil {
		c2.Release(context.Background())
		t.Fatal("a second claim succeeded while the first holds")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second claim: %v, want the context's deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c2, err := s.Claim(ctx, "p", filter)
		if err == nil {
			err = c2.Release(context.Background())
		}
		got <- err
	}()
	if err := c.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("standby claim after release: %v", err)
	}
}

func commitAppliesWithCheckpoint[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1", "k2")
	commit(t, c, m, pos(5), pos(9), "k3")
	r, err := c.Record(context.Background())
	if err != nil || r.Checkpoint != pos(9) || r.Handled != 3 || r.CheckpointAt.IsZero() {
		t.Fatalf("record %+v, %v", r, err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if !m.Has(t, k) {
			t.Fatalf("%s not committed", k)
		}
	}
}

func failedApplyWritesNothing[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1")
	boom := errors.New("boom")
	err := c.Commit(context.Background(), pos(5), projection.Advance{To: pos(7), Events: 1}, func(ctx context.Context, tx Tx) error {
		if err := m.Write(ctx, tx, "k2"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("commit with a failing apply: %v, want the apply's error", err)
	}
	if m.Has(t, "k2") {
		t.Fatal("the failed batch's write was committed")
	}
	if r := record(t, s, "p"); r.Checkpoint != pos(5) || r.Handled != 1 {
		t.Fatalf("checkpoint moved by a failed batch: %+v", r)
	}
	commit(t, c, m, pos(5), pos(7), "k2") // the claim is still usable
}

func fencedCommitWritesNothing[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1")
	err := c.Commit(context.Background(), pos(3), projection.Advance{To: pos(8), Events: 1}, func(ctx context.Context, tx Tx) error {
		return m.Write(ctx, tx, "stale")
	})
	if !errors.Is(err, projection.ErrFenced) {
		t.Fatalf("stale commit: %v, want ErrFenced", err)
	}
	if m.Has(t, "stale") || record(t, s, "p").Checkpoint != pos(5) {
		t.Fatal("a fenced commit wrote")
	}
}

func failThenRetryAndSkip[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	ctx := context.Background()
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1")
	if err := s.Skip(ctx, "p"); !errors.Is(err, projection.ErrNotFailed) {
		t.Fatalf("skip of a running projection: %v", err)
	}
	if err := s.Retry(ctx, "nope"); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("retry of an unknown projection: %v", err)
	}
	f := projection.Failure{Position: pos(6), EventID: uuid.Must(uuid.NewV7()), Stream: "s-1", Version: 3, Type: "A",
		RecordedAt: time.Now().UTC().Truncate(time.Millisecond), Error: "bad", Attempts: 4, At: time.Now().UTC()}
	if err := c.Fail(ctx, pos(5), f); err != nil {
		t.Fatal(err)
	}
	r := record(t, s, "p")
	if r.State != projection.Failed || r.Failure == nil || r.Failure.Position != pos(6) || r.Failure.EventID != f.EventID ||
		r.Failure.Stream != "s-1" || r.Failure.Version != 3 || r.Failure.Type != "A" || r.Failure.Error != "bad" ||
		r.Failure.Attempts != 4 || !r.Failure.RecordedAt.Equal(f.RecordedAt) || r.LastError != "bad" || r.Checkpoint != pos(5) {
		t.Fatalf("failed record %+v (failure %+v)", r, r.Failure)
	}
	// A failed projection takes no batches until an operator acts.
	err := c.Commit(ctx, pos(5), projection.Advance{To: pos(6), Events: 1}, func(ctx context.Context, tx Tx) error { return m.Write(ctx, tx, "k2") })
	if !errors.Is(err, projection.ErrFenced) || m.Has(t, "k2") {
		t.Fatalf("commit while failed: %v", err)
	}
	if err := s.Retry(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if r := record(t, s, "p"); r.State != projection.Running || r.Failure != nil || r.Checkpoint != pos(5) {
		t.Fatalf("after retry: %+v", r)
	}
	if err := c.Fail(ctx, pos(5), f); err != nil {
		t.Fatal(err)
	}
	if err := s.Skip(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	r = record(t, s, "p")
	if r.State != projection.Running || r.Failure != nil || r.Checkpoint != pos(6) || r.LastError != "bad" || r.Handled != 1 {
		t.Fatalf("after skip: %+v", r)
	}
	// The owner goes on from the skipped event.
	commit(t, c, m, pos(6), pos(7), "k3")
}

func resetEmpties[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	ctx := context.Background()
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1")
	if err := c.Reset(ctx, pos(3), m.Reset); !errors.Is(err, projection.ErrFenced) || !m.Has(t, "k1") {
		t.Fatalf("stale reset: %v", err)
	}
	if err := c.Reset(ctx, pos(5), m.Reset); err != nil {
		t.Fatal(err)
	}
	r := record(t, s, "p")
	if m.Has(t, "k1") || r.State != projection.Rebuilding || !r.Checkpoint.IsZero() || r.Handled != 0 {
		t.Fatalf("after reset: %+v, k1 there: %v", r, m.Has(t, "k1"))
	}
	commit(t, c, m, pos(0), pos(5), "k1")
	if err := c.SetState(ctx, pos(5), projection.Running); err != nil {
		t.Fatal(err)
	}
	if r := record(t, s, "p"); r.State != projection.Running || r.Checkpoint != pos(5) || !m.Has(t, "k1") {
		t.Fatalf("after replay: %+v", r)
	}
}

func releaseStops[Tx any](t *testing.T, s projection.CheckpointStore[Tx], m Model[Tx]) {
	ctx := context.Background()
	c := claim(t, s, "p")
	commit(t, c, m, pos(0), pos(5), "k1")
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if r := record(t, s, "p"); r.State != projection.Stopped || r.Owned || r.Checkpoint != pos(5) {
		t.Fatalf("after release: %+v", r)
	}
	c = claim(t, s, "p")
	if r, err := c.Record(ctx); err != nil || r.State != projection.Running || r.Checkpoint != pos(5) {
		t.Fatalf("after claiming again: %+v, %v", r, err)
	}
}
