package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/projection"
)

// Claim implements [projection.CheckpointStore]: it takes the projection's
// lease (internal/pglease: a session-level advisory lock on a dedicated
// connection, outside the pool) — retrying every ClaimInterval while
// another runner holds it — and creates or updates the projection's row.
// Every batch of the projection then runs on the lease's connection, so the
// lock and the writes die together, and every checkpoint write is fenced on
// the checkpoint this owner last wrote.
func (s *Store) Claim(ctx context.Context, name string, filter eventstore.Filter) (projection.Claim[*Tx], error) {
	if err := projection.ValidateName(name); err != nil {
		return nil, err
	}
	key := pglease.Key{Kind: pglease.Projection, Schema: s.cfg.Schema, Name: name}
	var lease *pglease.Lease
	for {
		var err error
		lease, err = pglease.Acquire(ctx, key, pglease.Config{Conn: s.pool.Config().ConnConfig,
			Retry: s.cfg.ClaimInterval, Logger: s.cfg.Logger})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.cfg.Logger.Warn("projection claim: lock attempt failed", "projection", name, "error", err)
		if !backoff.Sleep(ctx, s.cfg.ClaimInterval) {
			return nil, ctx.Err()
		}
	}
	types, prefixes := filter.EventTypes, filter.StreamPrefixes
	if types == nil {
		types = []string{}
	}
	if prefixes == nil {
		prefixes = []string{}
	}
	c := &claim{s: s, name: name, lease: lease}
	var shadow *string
	err := lease.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `INSERT INTO `+s.table+` AS t (name, event_types, stream_prefixes, owner)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET event_types = $2, stream_prefixes = $3, owner = $4,
				state = CASE WHEN t.state = 'stopped' THEN 'running' ELSE t.state END, updated_at = now()`,
			name, types, prefixes, s.cfg.Owner); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT shadow_schema, shadow_tables FROM `+s.table+` WHERE name = $1`, name).
			Scan(&shadow, &c.shadowTables)
	})
	if err != nil {
		_ = lease.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("projection/postgres: claim %q: %w", name, err)
	}
	if shadow != nil {
		c.shadow = *shadow
	}
	return c, nil
}

var _ projection.Claim[*Tx] = (*claim)(nil)

type claim struct {
	s     *Store
	name  string
	lease *pglease.Lease

	// shadow is the schema a blue/green rebuild writes into, with the live
	// tables it will replace (see ShadowTables).
	shadow       string
	shadowTables []string
}

// check turns an error of the lease's connection dying (and with it the
// lock) into [projection.ErrClaimLost].
func (c *claim) check(err error) error {
	if err != nil && errors.Is(err, pglease.ErrLost) && !errors.Is(err, projection.ErrClaimLost) {
		return fmt.Errorf("%w: %q: %w", projection.ErrClaimLost, c.name, err)
	}
	return err
}

func (c *claim) Lost() <-chan struct{} { return c.lease.Lost() }

func (c *claim) Record(ctx context.Context) (projection.Record, error) {
	var r projection.Record
	err := c.lease.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		r, err = scanRecord(conn.QueryRow(ctx, `SELECT `+recordColumns+` FROM `+c.s.table+` WHERE name = $1`, c.name))
		return err
	})
	if err != nil {
		return projection.Record{}, c.check(fmt.Errorf("projection/postgres: read %q: %w", c.name, err))
	}
	r.Owned = true
	return r, nil
}

func pos(p eventstore.Position) (int64, int64, error) {
	if p.Commit > math.MaxInt64 || p.Prepare > math.MaxInt64 {
		return 0, 0, fmt.Errorf("projection/postgres: position %v does not fit in bigint", p)
	}
	return int64(p.Commit), int64(p.Prepare), nil
}

// inTx runs fn and then the fenced statement update in one transaction on
// the lease's connection; update must affect one row.
func (c *claim) inTx(ctx context.Context, fn func(context.Context, *Tx) error, update string, args ...any) error {
	return c.check(c.lease.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		ptx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		tx := &Tx{Tx: ptx, schema: c.s.cfg.Schema, projection: c.name}
		defer ptx.Rollback(context.WithoutCancel(ctx))
		if c.shadow != "" {
			// A blue/green rebuild: unqualified names find the shadow copies.
			tx.batch.Queue(`SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), true)`,
				pgx.Identifier{c.shadow}.Sanitize())
		}
		if fn != nil {
			if err := fn(ctx, tx); err != nil {
				return err
			}
		}
		// The checkpoint write goes in the same pipeline as the handlers'
		// queued statements: one round trip for both.
		tx.batch.Queue(update, args...)
		b := tx.batch
		tx.batch = pgx.Batch{}
		br := ptx.SendBatch(ctx, &b)
		for range b.Len() - 1 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		tag, err := br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %q", projection.ErrFenced, c.name)
		}
		return ptx.Commit(ctx)
	}))
}

const fence = ` WHERE name = $1 AND commit_pos = $2 AND prepare_pos = $3`

func (c *claim) Commit(ctx context.Context, from eventstore.Position, adv projection.Advance, apply func(context.Context, *Tx) error) error {
	fc, fp, err := pos(from)
	if err != nil {
		return err
	}
	tc, tp, err := pos(adv.To)
	if err != nil {
		return err
	}
	return c.inTx(ctx, apply, `UPDATE `+c.s.table+` SET commit_pos = $4, prepare_pos = $5, checkpoint_at = $6,
		handled = handled + $7, updated_at = now()`+fence+` AND state IN ('running', 'rebuilding')`,
		c.name, fc, fp, tc, tp, timeOrNil(adv.At), adv.Events)
}

func (c *claim) Fail(ctx context.Context, from eventstore.Position, f projection.Failure) error {
	fc, fp, err := pos(from)
	if err != nil {
		return err
	}
	ec, ep, err := pos(f.Position)
	if err != nil {
		return err
	}
	return c.inTx(ctx, nil, `UPDATE `+c.s.table+` SET state = 'failed', failed_commit_pos = $4, failed_prepare_pos = $5,
		failed_event_id = $6, failed_stream = $7, failed_version = $8, failed_type = $9, failed_recorded_at = $10,
		failed_attempts = $11, failed_at = $12, last_error = $13, updated_at = now()`+fence+` AND state IN ('running', 'rebuilding')`,
		c.name, fc, fp, ec, ep, f.EventID, f.Stream, int64(f.Version), f.Type, timeOrNil(f.RecordedAt),
		f.Attempts, timeOrNil(f.At), f.Error)
}

func (c *claim) Reset(ctx context.Context, from eventstore.Position, reset func(context.Context, *Tx) error) error {
	fc, fp, err := pos(from)
	if err != nil {
		return err
	}
	var shadow string
	var shadowTables []string
	prevShadow, prevTables := c.shadow, c.shadowTables
	c.shadow, c.shadowTables = "", nil // the reset itself runs on the live search_path
	err = c.inTx(ctx, func(ctx context.Context, tx *Tx) error {
		if err := reset(ctx, tx); err != nil {
			return err
		}
		shadow, shadowTables = tx.shadow, tx.shadowTables
		tx.batch.Queue(`UPDATE `+c.s.table+` SET shadow_schema = NULLIF($2, ''), shadow_tables = $3 WHERE name = $1`,
			c.name, shadow, shadowTables)
		return nil
	}, `UPDATE `+c.s.table+` SET commit_pos = 0, prepare_pos = 0, checkpoint_at = NULL,
		handled = 0, state = 'rebuilding', failed_commit_pos = NULL, failed_prepare_pos = NULL, failed_event_id = NULL,
		failed_stream = NULL, failed_version = NULL, failed_type = NULL, failed_recorded_at = NULL,
		failed_attempts = NULL, failed_at = NULL, last_error = '', updated_at = now()`+fence,
		c.name, fc, fp)
	if err != nil {
		c.shadow, c.shadowTables = prevShadow, prevTables
		return err
	}
	c.shadow, c.shadowTables = shadow, shadowTables
	return nil
}

func (c *claim) SetState(ctx context.Context, from eventstore.Position, s projection.State) error {
	fc, fp, err := pos(from)
	if err != nil {
		return err
	}
	if s == projection.Failed {
		return errors.New("projection/postgres: use Fail to set a projection failed")
	}
	var swap func(context.Context, *Tx) error
	if s == projection.Running && c.shadow != "" {
		// The end of a blue/green rebuild: the copies replace the live
		// tables in the transaction that sets the projection running.
		shadow, tables := c.shadow, c.shadowTables
		swap = func(ctx context.Context, tx *Tx) error {
			if err := swapShadow(ctx, tx, shadow, tables); err != nil {
				return err
			}
			tx.batch.Queue(`UPDATE `+c.s.table+` SET shadow_schema = NULL, shadow_tables = NULL WHERE name = $1`, c.name)
			return nil
		}
	}
	if err := c.inTx(ctx, swap, `UPDATE `+c.s.table+` SET state = $4, updated_at = now()`+fence+` AND state <> 'failed'`,
		c.name, fc, fp, string(s)); err != nil {
		return err
	}
	if swap != nil {
		c.shadow, c.shadowTables = "", nil
	}
	return nil
}

func (c *claim) Release(ctx context.Context) error {
	err := c.lease.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE `+c.s.table+` SET state = 'stopped', updated_at = now()
			WHERE name = $1 AND state = 'running'`, c.name)
		return err
	})
	if errors.Is(err, pglease.ErrLost) {
		err = nil // the lock went with the connection; the next owner sees the state
	}
	if rerr := c.lease.Release(ctx); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("projection/postgres: release %q: %w", c.name, err)
	}
	return nil
}
