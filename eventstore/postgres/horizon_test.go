package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
)

// Horizon tells the last committed event from the last readable one, and
// names the transaction between them, even in another database of the
// cluster.
func TestHorizonNamesTheHolder(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	if h, err := s.Horizon(ctx); err != nil || h.Tip != (eventstore.Position{}) || h.Held() || h.Holder != nil {
		t.Fatalf("empty store: %+v %v", h, err)
	}
	res, err := s.Append(ctx, "a", eventstore.Any, eventstore.NewEvent("A", []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	before := res.Positions[0]

	cfg, err := pgx.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	other := "postgres"
	if cfg.Database == other {
		other = "template1"
	}
	cfg.Database = other
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	var xid uint64
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid(), pg_current_xact_id()::text::bigint`).Scan(&pid, &xid); err != nil {
		t.Fatal(err)
	}
	res, err = s.Append(ctx, "a", eventstore.Any, eventstore.NewEvent("A", []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	tip := res.Positions[0]
	h, err := s.Horizon(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Other tests of the cluster may hold an older transaction for a
	// moment; this one is held until the test ends it.
	if h.Tip != tip || !h.Held() || h.Head.After(before) || h.Holder == nil {
		t.Fatalf("held: %+v (holder %+v), want tip %v and head at most %v", h, h.Holder, tip, before)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.Holder.PID != pid {
		if time.Now().After(deadline) {
			t.Fatalf("holder %+v, want pid %d", h.Holder, pid)
		}
		time.Sleep(10 * time.Millisecond)
		if h, err = s.Horizon(ctx); err != nil || h.Holder == nil {
			t.Fatalf("%+v %v", h, err)
		}
	}
	if hd := h.Holder; hd.Database != other || hd.TransactionID%(1<<32) != xid%(1<<32) || hd.State != "idle in transaction" || hd.Since.IsZero() {
		t.Fatalf("holder %+v, want database %s, transaction %d", hd, other, xid)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if h, err = s.Horizon(ctx); err != nil {
			t.Fatal(err)
		}
		if !h.Held() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still held after the transaction ended: %+v", h)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h.Head != tip || h.Tip != tip || h.Holder != nil {
		t.Fatalf("released: %+v", h)
	}
}
