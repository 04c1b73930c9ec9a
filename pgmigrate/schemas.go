package pgmigrate

import (
	"context"
	"fmt"
	"slices"
)

// Migrated is a schema that holds migrated components, for [Schemas].
type Migrated struct {
	Schema string
	// Components have at least one migration applied, sorted.
	Components []string
}

// Schemas lists the schemas of the database that hold migrated components
// (a chronicle_migrations table with rows), sorted by name: where
// chronicle's tables are, when a tool was pointed at the wrong schema.
func Schemas(ctx context.Context, db DB) ([]Migrated, error) {
	rows, err := db.Query(ctx, `SELECT table_schema FROM information_schema.tables
WHERE table_name = 'chronicle_migrations' AND table_type = 'BASE TABLE' ORDER BY table_schema`)
	if err != nil {
		return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
	}
	var out []Migrated
	for _, n := range names {
		if ValidateSchema(n) != nil {
			continue // not a name chronicle would have created
		}
		rows, err := db.Query(ctx, `SELECT DISTINCT component FROM `+Table(n, "chronicle_migrations"))
		if err != nil {
			if IsUndefinedTable(err) {
				continue // dropped meanwhile
			}
			return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
		}
		m := Migrated{Schema: n}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
			}
			m.Components = append(m.Components, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			if IsUndefinedTable(err) {
				continue
			}
			return nil, fmt.Errorf("pgmigrate: list schemas: %w", err)
		}
		if len(m.Components) > 0 {
			slices.Sort(m.Components)
			out = append(out, m)
		}
	}
	return out, nil
}
