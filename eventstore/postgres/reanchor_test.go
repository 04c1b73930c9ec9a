package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/jackc/pgx/v5"
)

// TestReanchorAfterRestore simulates a pg_dump/restore: the restored rows
// keep their transaction ids while the new server hands out lower ones
// (here: the stored ids are moved a billion ahead, which is the same
// situation). Before the repair, every write is refused with
// ErrNeedsReanchor — to existing streams, to new ones (which used to be
// stored behind the restored log, never to reach a subscriber), through
// AppendTx and Import — and the log's head is hidden; after Reanchor,
// writes work, and a subscriber resuming from its checkpoint gets exactly
// the new events.
func TestReanchorAfterRestore(t *testing.T) {
	s, pool, _ := newStoreConfig(t, espg.Config{HorizonWait: -1})
	ctx := t.Context()
	if _, after, err := s.Reanchor(ctx); err != nil || after != 0 {
		t.Fatalf("Reanchor before any restore: offset %d, %v; want 0", after, err)
	}
	var checkpoint eventstore.Position // a subscriber's, at the last event
	for i := range 5 {
		// (The store remembers, from these appends, the server and the
		// epoch row it checked, and skips the check while they stay.)
		res, err := s.Append(ctx, "order", eventstore.Exact(uint64(i)), eventstore.NewEvent("E", nil))
		if err != nil {
			t.Fatal(err)
		}
		checkpoint = res.Positions[0]
	}

	// "Restore": stored transaction ids are now ahead of the server's, and
	// the epoch row is a new one, as pg_restore writes it (a restore onto
	// another server would also start another postmaster).
	const ahead = 1_000_000_000
	if _, err := pool.Exec(ctx, `UPDATE events SET transaction_id = transaction_id + $1`, ahead); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `WITH old AS (DELETE FROM epoch RETURNING *) INSERT INTO epoch SELECT * FROM old`); err != nil {
		t.Fatal(err)
	}
	checkpoint.Commit += ahead

	st, err := s.Status(ctx)
	if err != nil || !st.NeedsReanchor {
		t.Fatalf("status after the restore: %+v, %v; want NeedsReanchor", st, err)
	}
	head, err := s.Head(ctx)
	if err != nil || !head.IsZero() {
		t.Fatalf("head after the restore: %v, %v; want nothing visible below the stale horizon", head, err)
	}
	refused := []struct {
		name  string
		write func() error
	}{
		{"append to a restored stream", func() error {
			_, err := s.Append(ctx, "order", eventstore.Exact(5), eventstore.NewEvent("Refused", nil))
			return err
		}},
		{"append to a new stream", func() error {
			_, err := s.Append(ctx, "new-before-reanchor", eventstore.NoStream, eventstore.NewEvent("Refused", nil))
			return err
		}},
		{"append of several events to a new stream with Any", func() error {
			_, err := s.Append(ctx, "new-before-reanchor", eventstore.Any, numbered(3)...)
			return err
		}},
		{"AppendTx to a new stream", func() error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := s.AppendTx(ctx, tx, "new-before-reanchor", eventstore.NoStream, eventstore.NewEvent("Refused", nil))
				return err
			})
		}},
		{"Import into a new stream", func() error {
			_, err := s.Import(ctx, []eventstore.RecordedEvent{{StreamID: "new-before-reanchor", Version: 1, Event: eventstore.NewEvent("Refused", nil)}})
			return err
		}},
	}
	for _, r := range refused {
		err := r.write()
		if !errors.Is(err, espg.ErrNeedsReanchor) || eventstore.IsRetryable(err) {
			t.Fatalf("%s before Reanchor: %v, want ErrNeedsReanchor, not retryable", r.name, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("events after the refused writes: %d (%v), want the 5 restored", n, err)
	}

	before, after, err := s.Reanchor(ctx)
	if err != nil || before != 0 || after < ahead/2 {
		t.Fatalf("Reanchor: %d → %d, %v", before, after, err)
	}
	if st, err := s.Status(ctx); err != nil || st.NeedsReanchor || st.Epoch != after {
		t.Fatalf("status after Reanchor: %+v, %v", st, err)
	}
	if _, again, err := s.Reanchor(ctx); err != nil || again != after {
		t.Fatalf("second Reanchor moved the offset: %d → %d, %v", after, again, err)
	}

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := follow(t, subCtx, s, checkpoint)
	res, err := s.Append(ctx, "order", eventstore.Exact(5), eventstore.NewEvent("AfterRestore", nil))
	if err != nil {
		t.Fatalf("append after Reanchor: %v", err)
	}
	res2, err := s.Append(ctx, "new-stream", eventstore.NoStream, eventstore.NewEvent("AfterRestore", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Positions[0].After(checkpoint) {
		t.Fatalf("new event at %v, not after the restored head %v", res.Positions[0], checkpoint)
	}
	for _, want := range []eventstore.Position{res.Positions[0], res2.Positions[0]} {
		if e := next(t, sub); e.Position != want {
			t.Fatalf("subscriber from the checkpoint got %v (%s v%d), want %v", e.Position, e.StreamID, e.Version, want)
		}
	}
	requireStreamInGlobalOrder(t, s, "order", 6)
	var all []eventstore.RecordedEvent
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	if len(all) != 7 {
		t.Fatalf("ReadAll after Reanchor: %d events, want 7", len(all))
	}
}
