package postgres

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/relay"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Component is the name under which the relays' migrations are recorded.
const Component = "relays"

// Migrations is the relays' migration set, for `chronicle migrate`.
var Migrations = pgmigrate.MustLoad(Component, migrationFiles, "migrations")

// DefaultClaimInterval is [Config.ClaimInterval]'s default.
const DefaultClaimInterval = time.Second

// Config configures a [Store]. The zero value works.
type Config struct {
	// Schema holds the relay tables (default [pgmigrate.DefaultSchema]).
	Schema string
	// Owner names this process in the records (default "hostname/pid").
	Owner string
	// ClaimInterval is how often a standby tries to take a relay over
	// (default [DefaultClaimInterval]).
	ClaimInterval time.Duration
	// Logger receives lease messages; nil discards them.
	Logger *slog.Logger
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ClaimInterval < 0 {
		errs = append(errs, fmt.Errorf("relay/postgres: config: ClaimInterval is negative (%v)", c.ClaimInterval))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.Owner = cmp.Or(c.Owner, pglease.DefaultOwner())
	c.ClaimInterval = cmp.Or(c.ClaimInterval, DefaultClaimInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Store keeps relay state in PostgreSQL. It implements [relay.Store].
type Store struct {
	pool   *pgxpool.Pool
	cfg    Config
	table  string
	parked string
}

var _ relay.Store = (*Store)(nil)

// New returns a store on pool. It creates nothing: call [Store.Migrate]
// (or `chronicle migrate`) first.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("relay/postgres: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{pool: pool, cfg: cfg, table: pgmigrate.Table(cfg.Schema, "relay_checkpoints"),
		parked: pgmigrate.Table(cfg.Schema, "relay_parked")}, nil
}

// Migrate creates or upgrades the relay tables.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	return err
}

// Schema returns the schema holding the tables.
func (s *Store) Schema() string { return s.cfg.Schema }

// Claim implements [relay.Store]: it takes the relay's lease (waiting as a
// standby while another process holds it) and creates or updates its row
// on the lease's connection.
func (s *Store) Claim(ctx context.Context, name string, filter eventstore.Filter) (relay.Claim, error) {
	if err := relay.ValidateName(name); err != nil {
		return nil, err
	}
	l, err := pglease.Acquire(ctx, pglease.Key{Kind: pglease.Relay, Schema: s.cfg.Schema, Name: name},
		pglease.Config{Conn: s.pool.Config().ConnConfig, Retry: s.cfg.ClaimInterval, Check: s.cfg.ClaimInterval, Logger: s.cfg.Logger})
	if err != nil {
		return nil, err
	}
	types, prefixes := filter.EventTypes, filter.StreamPrefixes
	if types == nil {
		types = []string{}
	}
	if prefixes == nil {
		prefixes = []string{}
	}
	err = l.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO `+s.table+` (name, event_types, stream_prefixes, owner) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET event_types = $2, stream_prefixes = $3, owner = $4, updated_at = now()`,
			name, types, prefixes, s.cfg.Owner)
		return err
	})
	if err != nil {
		l.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("relay/postgres: claim %q: %w", name, err)
	}
	return &claim{s: s, name: name, l: l}, nil
}

// Records implements [relay.Store].
func (s *Store) Records(ctx context.Context) ([]relay.Record, error) {
	return ListStatus(ctx, s.pool, s.cfg.Schema)
}

// Parked implements [relay.Store].
func (s *Store) Parked(ctx context.Context, name string) ([]relay.Parked, error) {
	return Parked(ctx, s.pool, s.cfg.Schema, name)
}

// Retry implements [relay.Store].
func (s *Store) Retry(ctx context.Context, name, id string) (int, error) {
	return Retry(ctx, s.pool, s.cfg.Schema, name, id)
}

// Skip implements [relay.Store].
func (s *Store) Skip(ctx context.Context, name, id string) (int, error) {
	return Skip(ctx, s.pool, s.cfg.Schema, name, id)
}

type claim struct {
	s    *Store
	name string
	l    *pglease.Lease
}

func (c *claim) Lost() <-chan struct{} { return c.l.Lost() }

func (c *claim) Release(ctx context.Context) error { return c.l.Release(ctx) }

// do runs fn on the lease's connection, turning a lost lease into
// [relay.ErrClaimLost].
func (c *claim) do(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	err := c.l.Do(ctx, fn)
	if errors.Is(err, pglease.ErrLost) {
		return fmt.Errorf("%w: %q: %w", relay.ErrClaimLost, c.name, err)
	}
	return err
}

func (c *claim) Record(ctx context.Context) (relay.Record, error) {
	var rec relay.Record
	err := c.do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		r, err := scanRecord(conn.QueryRow(ctx, `SELECT `+recordColumns(c.s.cfg.Schema)+` FROM `+c.s.table+` r WHERE name = $1`, c.name))
		rec = r
		return err
	})
	if err != nil {
		return relay.Record{}, fmt.Errorf("relay/postgres: read %q: %w", c.name, err)
	}
	rec.Owned = true
	return rec, nil
}

func pos(p eventstore.Position) (int64, int64, error) {
	if p.Commit > math.MaxInt64 || p.Prepare > math.MaxInt64 {
		return 0, 0, fmt.Errorf("relay/postgres: position %v does not fit in bigint", p)
	}
	return int64(p.Commit), int64(p.Prepare), nil
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (c *claim) Advance(ctx context.Context, from, to eventstore.Position, at time.Time, published int, parked []relay.Parked) error {
	fc, fp, err := pos(from)
	if err != nil {
		return err
	}
	tc, tp, err := pos(to)
	if err != nil {
		return err
	}
	return c.do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		b := &pgx.Batch{}
		b.Queue(`UPDATE `+c.s.table+` SET commit_pos = $4, prepare_pos = $5, checkpoint_at = $6, published = published + $7,
			last_error = CASE WHEN $7 > 0 THEN '' ELSE last_error END, updated_at = now()
			WHERE name = $1 AND commit_pos = $2 AND prepare_pos = $3`, c.name, fc, fp, tc, tp, timeOrNil(at), published)
		for _, p := range parked {
			if err := queuePark(b, c.s.parked, c.name, p); err != nil {
				return err
			}
		}
		br := tx.SendBatch(ctx, b)
		tag, err := br.Exec()
		if err == nil && tag.RowsAffected() != 1 {
			br.Close()
			return fmt.Errorf("%w: %q", relay.ErrFenced, c.name)
		}
		for range len(parked) {
			if err != nil {
				break
			}
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

func queuePark(b *pgx.Batch, table, name string, p relay.Parked) error {
	pc, pp, err := pos(p.Position)
	if err != nil {
		return err
	}
	attrs := map[string]string{}
	for _, a := range p.Message.Attributes() {
		attrs[a.Name] = a.Value
	}
	js, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO `+table+` AS p (relay, message_id, commit_pos, prepare_pos, type, subject, attributes, data, error, kind, attempts)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (relay, message_id) DO UPDATE SET state = 'parked', error = $9, attempts = p.attempts + 1, updated_at = now()`,
		name, p.Message.ID, pc, pp, p.Message.Type, p.Message.Subject, js, p.Message.Data, p.Error,
		string(cmp.Or(p.Kind, relay.KindMessage)), max(p.Attempts, 1))
	return nil
}

func (c *claim) Failed(ctx context.Context, msg string) error {
	return c.do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE `+c.s.table+` SET last_error = $2, updated_at = now() WHERE name = $1`, c.name, msg)
		return err
	})
}

func (c *claim) Retries(ctx context.Context) ([]relay.Parked, error) {
	var out []relay.Parked
	err := c.do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT `+parkedColumns+` FROM `+c.s.parked+` WHERE relay = $1 AND state = 'retry'
			ORDER BY commit_pos, prepare_pos LIMIT 1000`, c.name)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanParked)
		return err
	})
	return out, err
}

func (c *claim) Resolve(ctx context.Context, id string, cause error) error {
	return c.do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		if cause == nil {
			tx, err := conn.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			tag, err := tx.Exec(ctx, `DELETE FROM `+c.s.parked+` WHERE relay = $1 AND message_id = $2 AND state = 'retry'`, c.name, id)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				if _, err := tx.Exec(ctx, `UPDATE `+c.s.table+` SET published = published + 1, updated_at = now() WHERE name = $1`, c.name); err != nil {
					return err
				}
			}
			return tx.Commit(ctx)
		}
		_, err := conn.Exec(ctx, `UPDATE `+c.s.parked+` SET state = 'parked', error = $3, attempts = attempts + 1, updated_at = now()
			WHERE relay = $1 AND message_id = $2`, c.name, id, cause.Error())
		return err
	})
}
