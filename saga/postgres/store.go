package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/saga"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the saga tables' migrations, component "sagas".
var Migrations = pgmigrate.MustLoad("sagas", migrationFiles, "migrations")

// Defaults of [Config]: a zero field takes its default.
const (
	DefaultLockPollInterval   = 500 * time.Millisecond
	DefaultLeaseCheckInterval = 2 * time.Second
)

// Config configures a [Store]. The zero value works.
type Config struct {
	// Schema holds the saga tables; default [pgmigrate.DefaultSchema].
	Schema string
	// LockPollInterval is how often a standby tries to take a saga's
	// subscription lock; default [DefaultLockPollInterval].
	LockPollInterval time.Duration
	// LeaseCheckInterval is how often a lease holder checks its lock
	// connection is alive; default [DefaultLeaseCheckInterval].
	LeaseCheckInterval time.Duration
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", saga.ErrInvalidConfig, err))
		}
	}
	if c.LockPollInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: LockPollInterval is negative", saga.ErrInvalidConfig))
	}
	if c.LeaseCheckInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: LeaseCheckInterval is negative", saga.ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.LockPollInterval = cmp.Or(c.LockPollInterval, DefaultLockPollInterval)
	c.LeaseCheckInterval = cmp.Or(c.LeaseCheckInterval, DefaultLeaseCheckInterval)
	return c
}

// Store is the PostgreSQL [saga.Store]. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
	sql  statements
}

var _ saga.Store = (*Store)(nil)

// New returns a store on pool. It creates nothing: call [Store.Migrate].
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: nil pool", saga.ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{pool: pool, cfg: cfg, sql: newStatements(cfg.Schema)}, nil
}

// Migrate applies the pending saga migrations to the store's schema.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	return err
}

// Schema returns the schema holding the tables.
func (s *Store) Schema() string { return s.cfg.Schema }

// conflict maps PostgreSQL's signals of a lost race onto [saga.ErrConflict]:
// unique violations (an instance or command written twice), serialization
// failures and deadlocks.
func conflict(sagaName string, err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case pgerr.UniqueViolation, pgerr.SerializationFailure, pgerr.DeadlockDetected:
			return &saga.ConflictError{Saga: sagaName, Reason: pgErr.Message}
		}
	}
	return err
}

type statements struct {
	load, insertInst, updateInst, fired, cancel, schedule, outbox, history, unparked, parked, refused, checkpoint string
	getCheckpoint, fence                                                                                          string
	reserveCommands, markSent, compensated, markFailed, reserveDeadlines                                          string
	instances, count, one, historyOf, commandsOf, deadlinesOf, parkedOf, parkedAll, failing                       string
}

func newStatements(schema string) statements {
	inst := pgmigrate.Table(schema, "saga_instances")
	out := pgmigrate.Table(schema, "saga_outbox")
	dl := pgmigrate.Table(schema, "saga_deadlines")
	hist := pgmigrate.Table(schema, "saga_history")
	park := pgmigrate.Table(schema, "saga_parked")
	cp := pgmigrate.Table(schema, "saga_checkpoints")
	const instCols = `id, status, reason, state, version, steps::text, seq, commit_pos, prepare_pos, started_at, updated_at`
	const cmdCols = `id, instance_id, seq, type, data, causation_id, compensation, step, created_at, attempts, last_error, next_attempt_at, sent_at, refused, traceparent, tracestate`
	const parkCols = `instance_id, event_id, event_type, stream_id, stream_version, commit_pos, prepare_pos, error, attempts, parked_at`
	return statements{
		load: `SELECT ` + instCols + ` FROM ` + inst + ` WHERE saga = $1 AND id = ANY($2::text[])`,
		insertInst: `WITH w AS (INSERT INTO ` + inst + ` AS t (saga, id, status, reason, state, version, steps, seq, commit_pos, prepare_pos, started_at, updated_at)
SELECT $1, u.id, u.status, u.reason, u.state, u.version, u.steps::jsonb, u.seq, u.pc, u.pp, u.started, u.updated
FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::timestamptz[], $12::timestamptz[])
	AS u(id, status, reason, state, version, steps, seq, pc, pp, started, updated)
ON CONFLICT (saga, id) DO NOTHING RETURNING 1) SELECT count(*) FROM w`,
		updateInst: `WITH w AS (UPDATE ` + inst + ` AS t SET status = u.status, reason = u.reason, state = u.state, version = u.version,
	steps = u.steps::jsonb, seq = u.seq, commit_pos = u.pc, prepare_pos = u.pp, updated_at = u.updated
FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::timestamptz[], $12::timestamptz[])
	AS u(id, status, reason, state, version, steps, seq, pc, pp, started, updated)
WHERE t.saga = $1 AND t.id = u.id AND t.version = u.version - 1 RETURNING 1) SELECT count(*) FROM w`,
		fired: `WITH d AS (DELETE FROM ` + dl + ` AS t USING unnest($2::text[], $3::text[], $4::timestamptz[]) AS f(inst, name, due)
WHERE t.saga = $1 AND t.instance_id = f.inst AND t.name = f.name AND t.due_at = f.due RETURNING 1) SELECT count(*) FROM d`,
		cancel: `DELETE FROM ` + dl + ` AS t USING unnest($2::text[], $3::text[]) AS c(inst, name)
WHERE t.saga = $1 AND t.instance_id = c.inst AND (c.name = '' OR t.name = c.name)`,
		schedule: `INSERT INTO ` + dl + ` AS t (saga, instance_id, name, due_at, traceparent, tracestate)
SELECT $1, s.inst, s.name, s.due, s.tp, s.ts FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[]) AS s(inst, name, due, tp, ts)
ON CONFLICT (saga, instance_id, name) DO UPDATE SET due_at = excluded.due_at, lease_until = NULL,
	traceparent = excluded.traceparent, tracestate = excluded.tracestate`,
		outbox: `INSERT INTO ` + out + ` (saga, id, instance_id, seq, type, data, causation_id, compensation, step, created_at, next_attempt_at, traceparent, tracestate)
SELECT $1, o.id, o.inst, o.seq, o.type, o.data, o.cause, o.comp, o.step, o.created, o.next, o.tp, o.ts
FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::text[], $8::boolean[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[])
	AS o(id, inst, seq, type, data, cause, comp, step, created, next, tp, ts)`,
		history: `INSERT INTO ` + hist + ` (saga, instance_id, at, kind, event_id, event_type, commit_pos, prepare_pos, detail)
SELECT $1, h.inst, h.at, h.kind, NULLIF(h.eid, '')::uuid, h.etype, h.pc, h.pp, h.detail
FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[])
	AS h(inst, at, kind, eid, etype, pc, pp, detail)`,
		// unparked counts the distinct events it removed: the commit wants
		// every one of them.
		unparked: `WITH d AS (DELETE FROM ` + park + ` WHERE saga = $1 AND event_id = ANY ($2::uuid[]) RETURNING event_id)
SELECT count(DISTINCT event_id) FROM d`,
		parked: `INSERT INTO ` + park + ` (saga, ` + parkCols + `)
SELECT $1, p.inst, p.eid, p.etype, p.stream, p.sv, p.pc, p.pp, p.err, p.attempts, p.at
FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::int[], $11::timestamptz[])
	AS p(inst, eid, etype, stream, sv, pc, pp, err, attempts, at)`,
		refused: `WITH r AS (UPDATE ` + out + ` AS o SET sent_at = f.at, refused = true, last_error = f.err, lease_until = NULL
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS f(id, err, at)
WHERE o.saga = $1 AND o.id = f.id AND o.sent_at IS NULL RETURNING 1) SELECT count(*) FROM r`,
		checkpoint:    `UPDATE ` + cp + ` SET commit_pos = $2, prepare_pos = $3, updated_at = now() WHERE saga = $1 AND epoch = $4`,
		getCheckpoint: `SELECT commit_pos, prepare_pos FROM ` + cp + ` WHERE saga = $1`,
		fence: `INSERT INTO ` + cp + ` AS t (saga, epoch) VALUES ($1, 1)
ON CONFLICT (saga) DO UPDATE SET epoch = t.epoch + 1, updated_at = now() RETURNING epoch`,
		// The head check is a scalar subquery on purpose: it runs as an
		// index lookup per candidate row whatever the table's statistics
		// say; a NOT EXISTS became a nested-loop anti join scanning every
		// pending row per candidate on a fresh, unanalysed table (seconds
		// per reservation at a few thousand rows).
		reserveCommands: `WITH c AS (
	SELECT o.id FROM ` + out + ` AS o
	WHERE o.saga = $1 AND o.sent_at IS NULL AND o.next_attempt_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
	  AND o.seq = (SELECT p.seq FROM ` + out + ` AS p WHERE p.saga = $1 AND p.instance_id = o.instance_id AND p.sent_at IS NULL ORDER BY p.seq LIMIT 1)
	ORDER BY o.next_attempt_at, o.created_at
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
UPDATE ` + out + ` AS o SET lease_until = $3, attempts = o.attempts + 1 FROM c WHERE o.id = c.id
RETURNING o.id, o.instance_id, o.seq, o.type, o.data, o.causation_id, o.compensation, o.step, o.created_at, o.attempts, o.last_error, o.next_attempt_at, o.sent_at, o.refused, o.traceparent, o.tracestate`,
		markSent: `UPDATE ` + out + ` SET sent_at = $3, lease_until = NULL WHERE saga = $1 AND id = ANY($2::uuid[]) AND sent_at IS NULL`,
		compensated: `WITH done AS (
	UPDATE ` + inst + ` AS i SET status = 'compensated', version = i.version + 1, updated_at = $3
	WHERE i.saga = $1 AND i.status = 'compensating'
	  AND i.id IN (SELECT instance_id FROM ` + out + ` WHERE saga = $1 AND id = ANY($2::uuid[]))
	  AND (SELECT o.seq FROM ` + out + ` AS o WHERE o.saga = $1 AND o.instance_id = i.id AND o.sent_at IS NULL LIMIT 1) IS NULL
	RETURNING i.id)
INSERT INTO ` + hist + ` (saga, instance_id, at, kind, detail) SELECT $1, id, $3, 'status', 'compensated' FROM done`,
		markFailed: `UPDATE ` + out + ` SET last_error = $3, next_attempt_at = $4, lease_until = NULL WHERE saga = $1 AND id = $2 AND sent_at IS NULL`,
		reserveDeadlines: `WITH c AS (
	SELECT instance_id, name FROM ` + dl + `
	WHERE saga = $1 AND due_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
	ORDER BY due_at, instance_id, name
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
UPDATE ` + dl + ` AS d SET lease_until = $3 FROM c WHERE d.saga = $1 AND d.instance_id = c.instance_id AND d.name = c.name
RETURNING d.instance_id, d.name, d.due_at, d.traceparent, d.tracestate`,
		instances: `SELECT ` + instCols + ` FROM ` + inst + ` WHERE saga = $1 AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT $4`,
		count:     `SELECT status, count(*) FROM ` + inst + ` WHERE saga = $1 GROUP BY status`,
		one:       `SELECT ` + instCols + ` FROM ` + inst + ` WHERE saga = $1 AND id = $2`,
		historyOf: `SELECT at, kind, COALESCE(event_id::text, ''), event_type, commit_pos, prepare_pos, detail FROM ` + hist + `
WHERE saga = $1 AND instance_id = $2 ORDER BY n`,
		commandsOf:  `SELECT ` + cmdCols + ` FROM ` + out + ` WHERE saga = $1 AND instance_id = $2 ORDER BY seq`,
		deadlinesOf: `SELECT name, due_at FROM ` + dl + ` WHERE saga = $1 AND instance_id = $2 ORDER BY due_at, name`,
		parkedOf:    `SELECT ` + parkCols + ` FROM ` + park + ` WHERE saga = $1 AND instance_id = $2 ORDER BY n`,
		parkedAll:   `SELECT ` + parkCols + ` FROM ` + park + ` WHERE saga = $1 ORDER BY n`,
		failing:     `SELECT ` + cmdCols + ` FROM ` + out + ` WHERE saga = $1 AND sent_at IS NULL AND last_error <> '' ORDER BY created_at, instance_id, seq`,
	}
}

// rowsOf collects rows with scan, closing them.
func rowsOf[T any](rows pgx.Rows, err error, scan func(pgx.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
