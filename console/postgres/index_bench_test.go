package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
)

// BenchmarkCorrelationIndexAppend measures what the console's correlation
// index costs an append: two stores on one pool, in two schemas that
// differ only by the index, append in turn (the side going first
// alternates), so drifting load hits both alike. "ratio" is the time of an
// append with the index over one without: 1.05 means appends take 5 %
// longer.
//
//	go test ./console/postgres -run '^$' -bench CorrelationIndexAppend -count 5
func BenchmarkCorrelationIndexAppend(b *testing.B) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	open := func(index bool) *espg.Store {
		schema := pgtest.Schema(b)
		s, err := espg.New(pool, espg.Config{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		sets := []pgmigrate.Set{espg.Migrations}
		if index {
			sets = append(sets, consolepg.Migrations)
		}
		if _, err := pgmigrate.Apply(ctx, pool, schema, sets...); err != nil {
			b.Fatal(err)
		}
		return s
	}
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			stores := []*espg.Store{open(false), open(true)}
			var spent [2]time.Duration
			i := 0
			for b.Loop() {
				for k := range stores {
					j := (i + k) % 2
					evs := make([]eventstore.Event, n)
					for e := range evs {
						evs[e] = eventstore.NewEvent("OrderPlaced", []byte(`{"order_id":"o-1","total":1200}`))
						evs[e].Metadata = eventstore.Metadata{CorrelationID: fmt.Sprintf("o-%07d", i), CausationID: eventstore.NewEventID().String()}
					}
					start := time.Now()
					if _, err := stores[j].Append(ctx, fmt.Sprintf("order-%07d", i), eventstore.NoStream, evs...); err != nil {
						b.Fatal(err)
					}
					spent[j] += time.Since(start)
				}
				i++
			}
			b.ReportMetric(float64(spent[0].Microseconds())/float64(i), "without-µs/op")
			b.ReportMetric(float64(spent[1].Microseconds())/float64(i), "with-µs/op")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
