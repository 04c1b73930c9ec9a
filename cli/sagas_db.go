package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// sagaTables is the generic binary's view of the saga tables: the saga
// store, plus the read-only queries the store has no API for (which sagas
// the tables hold). A saga is in the database when it has instances, parked
// events (an event that could not be decoded is parked without an instance)
// or a checkpoint (its engine ran).
type sagaTables struct {
	store  saga.Inspector
	pool   *pgxpool.Pool
	schema string
	sql    sagaTableStatements
}

type sagaTableStatements struct {
	counts, exists, names string
}

// newSagaTables reads the saga tables of schema, which open has validated;
// table names are quoted by pgmigrate, never concatenated raw.
func newSagaTables(pool *pgxpool.Pool, schema string) (*sagaTables, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, usagef("--schema: %v", err)
	}
	store, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	if err != nil {
		return nil, err
	}
	inst := pgmigrate.Table(schema, "saga_instances")
	cp := pgmigrate.Table(schema, "saga_checkpoints")
	park := pgmigrate.Table(schema, "saga_parked")
	return &sagaTables{store: store, pool: pool, schema: schema, sql: sagaTableStatements{
		// Sagas with a checkpoint or parked events but no instance come
		// with an empty status and a zero count.
		counts: `SELECT saga, status, count(*) FROM ` + inst + ` GROUP BY saga, status
UNION ALL
SELECT saga, '', 0 FROM (SELECT saga FROM ` + cp + ` UNION SELECT saga FROM ` + park + `) AS o`,
		exists: `SELECT EXISTS (SELECT 1 FROM ` + inst + ` WHERE saga = $1)
	OR EXISTS (SELECT 1 FROM ` + cp + ` WHERE saga = $1)
	OR EXISTS (SELECT 1 FROM ` + park + ` WHERE saga = $1)`,
		// The names alone, for the message about a saga that is not there:
		// a skip scan of the instances' primary key rather than a scan of
		// every instance.
		names: `WITH RECURSIVE n(saga) AS (
	(SELECT saga FROM ` + inst + ` ORDER BY saga LIMIT 1)
	UNION ALL
	SELECT (SELECT i.saga FROM ` + inst + ` AS i WHERE i.saga > n.saga ORDER BY i.saga LIMIT 1) FROM n WHERE n.saga IS NOT NULL)
SELECT saga FROM n WHERE saga IS NOT NULL
UNION SELECT saga FROM ` + cp + `
UNION SELECT saga FROM ` + park + `
ORDER BY 1`,
	}}, nil
}

// counts returns, for every saga in the database (sorted by name), how many
// instances are in each status.
func (t *sagaTables) counts(ctx context.Context) ([]sagaCountJSON, error) {
	rows, err := t.pool.Query(ctx, t.sql.counts)
	if err != nil {
		return nil, fmt.Errorf("counting saga instances: %w", err)
	}
	bySaga := map[string]map[saga.Status]int{}
	var name, status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&name, &status, &n}, func() error {
		c := bySaga[name]
		if c == nil {
			c = map[saga.Status]int{}
			bySaga[name] = c
		}
		if status != "" {
			c[saga.Status(status)] += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting saga instances: %w", err)
	}
	out := make([]sagaCountJSON, 0, len(bySaga))
	for name, c := range bySaga {
		out = append(out, sagaCountJSON{Saga: name, Counts: everyStatus(c)})
	}
	slices.SortFunc(out, func(a, b sagaCountJSON) int { return strings.Compare(a.Saga, b.Saga) })
	return out, nil
}

// byName returns a reader of the saga name, or a not-found error naming the
// sagas the database does hold.
func (t *sagaTables) byName(ctx context.Context, name string) (sagaReader, error) {
	var ok bool
	if err := t.pool.QueryRow(ctx, t.sql.exists, name).Scan(&ok); err != nil {
		return nil, fmt.Errorf("looking up saga %q: %w", name, err)
	}
	if ok {
		return storeSaga{store: t.store, name: name}, nil
	}
	rows, err := t.pool.Query(ctx, t.sql.names)
	if err != nil {
		return nil, fmt.Errorf("listing sagas: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing sagas: %w", err)
	}
	found := "this schema has no sagas"
	if len(names) > 0 {
		found = "sagas in this schema: " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("saga %q has no instances, parked events or checkpoint in schema %q (%s): %w",
		name, t.schema, found, errNotFound)
}
