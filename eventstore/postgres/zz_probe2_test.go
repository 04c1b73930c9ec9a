package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
)

func TestZZPlan1(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(2))
	s, _ := New(pool, Config{Schema: schema})
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.Append(ctx, fmt.Sprintf("fill-%d", i), eventstore.NoStream, numbered(50)...); err != nil {
			t.Fatal(err)
		}
	}
	conn, _ := pool.Acquire(ctx)
	defer conn.Release()
	c := conn.Conn()
	st := s.stamp.Load()
	if _, err := c.Prepare(ctx, "p1", s.sql.appendOne); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
	for i := range 3 {
		rows, err := c.Query(ctx, fmt.Sprintf("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE p1('x-%d', 0::smallint, 0::bigint, gen_random_uuid(), 'E', '{}'::json, '{}'::json, '%s'::timestamptz, %d)", i, st.started.Format("2006-01-02 15:04:05.999999Z07:00"), st.xmin))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			if i == 2 {
				fmt.Println(line)
			}
		}
		rows.Close()
	}
}

func numbered(n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i] = eventstore.Event{ID: eventstore.NewEventID(), Type: "E", Data: []byte(`{}`)}
	}
	return out
}
