package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/inbox"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// DB is what the status functions need: a pool, a connection or a
// transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ConsumerStatus is one consumer's inbox as the tables show it.
type ConsumerStatus struct {
	Consumer string
	// Processed counts the records kept (pruned after the retention).
	Processed int64
	// LastProcessedAt is when the newest record was written.
	LastProcessedAt time.Time
	// Failing counts messages with failed attempts not yet parked; Parked
	// those given up on.
	Failing, Parked int
}

// Status returns every consumer's status in schema, sorted by name.
func Status(ctx context.Context, db DB, schema string) ([]ConsumerStatus, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT consumer, count(*), max(processed_at) FROM `+pgmigrate.Table(schema, "inbox_processed")+` GROUP BY consumer`)
	if err != nil {
		return nil, fmt.Errorf("inbox/postgres: status: %w", err)
	}
	byName := map[string]*ConsumerStatus{}
	get := func(name string) *ConsumerStatus {
		if byName[name] == nil {
			byName[name] = &ConsumerStatus{Consumer: name}
		}
		return byName[name]
	}
	for rows.Next() {
		var name string
		var n int64
		var last time.Time
		if err := rows.Scan(&name, &n, &last); err != nil {
			rows.Close()
			return nil, err
		}
		s := get(name)
		s.Processed, s.LastProcessedAt = n, last.UTC()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.Query(ctx, `SELECT consumer, count(*) FILTER (WHERE state = 'failing'), count(*) FILTER (WHERE state = 'parked')
		FROM `+pgmigrate.Table(schema, "inbox_failures")+` GROUP BY consumer`)
	if err != nil {
		return nil, fmt.Errorf("inbox/postgres: status: %w", err)
	}
	for rows.Next() {
		var name string
		var failing, parked int
		if err := rows.Scan(&name, &failing, &parked); err != nil {
			rows.Close()
			return nil, err
		}
		s := get(name)
		s.Failing, s.Parked = failing, parked
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ConsumerStatus, 0, len(byName))
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[k])
	}
	return out, nil
}

// Parked lists the parked messages of consumer (every consumer when
// empty) in schema, oldest first.
func Parked(ctx context.Context, db DB, schema, consumer string) ([]inbox.Parked, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT consumer, message_id, attempts, attributes, data, last_error, updated_at
		FROM `+pgmigrate.Table(schema, "inbox_failures")+` WHERE state = 'parked' AND ($1 = '' OR consumer = $1)
		ORDER BY updated_at, message_id`, consumer)
	if err != nil {
		return nil, fmt.Errorf("inbox/postgres: parked: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (inbox.Parked, error) {
		var p inbox.Parked
		var id string
		var attrs []byte
		var data []byte
		if err := r.Scan(&p.Consumer, &id, &p.Attempts, &attrs, &data, &p.Error, &p.ParkedAt); err != nil {
			return p, err
		}
		p.ParkedAt = p.ParkedAt.UTC()
		var m map[string]string
		_ = json.Unmarshal(attrs, &m)
		names := slices.Collect(maps.Keys(m))
		msg, _ := broker.FromAttributes(func(n string) (string, bool) { v, ok := m[n]; return v, ok }, names, data)
		if msg.ID == "" {
			msg.ID = id
		}
		p.Message = msg
		return p, nil
	})
}
