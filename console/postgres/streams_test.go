package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
)

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"order-": "order.", "a": "b", "é": "ê", "x\U0010FFFF": "y", "\uD7FF": "\uE000"} {
		got, ok := consolepg.PrefixEnd(in)
		if !ok || got != want {
			t.Errorf("PrefixEnd(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := consolepg.PrefixEnd(""); ok {
		t.Error("PrefixEnd of the empty prefix")
	}
}

// TestStreams lists streams by prefix, page by page, in both walks (bounded
// at the prefix's end, and not), against the streams appended.
func TestStreams(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 30 {
		for _, p := range []string{"order-", "order.", "orders-", "payment-", "é-"} {
			id := fmt.Sprintf("%s%02d", p, i)
			ids = append(ids, id)
			for range i%3 + 1 {
				if _, err := store.Append(ctx, id, eventstore.Any, eventstore.NewEvent("E", nil)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	slices.Sort(ids)
	src, err := consolepg.New(ctx, pool, consolepg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, bounded := range []bool{true, false} {
		consolepg.SetByteOrder(src, bounded)
		for _, prefix := range []string{"", "order-", "order", "é", "payment-1", "zzz", "order-99"} {
			var want []string
			for _, id := range ids {
				if strings.HasPrefix(id, prefix) {
					want = append(want, id)
				}
			}
			var got []string
			after := ""
			for {
				page, err := src.Streams(ctx, console.StreamQuery{Prefix: prefix, After: after, Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range page {
					got = append(got, st.ID)
					var n int
					fmt.Sscanf(st.ID[strings.LastIndexAny(st.ID, "-.")+1:], "%d", &n)
					if st.Version != uint64(n%3+1) {
						t.Errorf("%s: version %d, want %d", st.ID, st.Version, n%3+1)
					}
				}
				if len(page) < 7 {
					break
				}
				after = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("bounded %v, prefix %q: listed %v, want %v", bounded, prefix, got, want)
			}
		}
	}
}
