package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Tx is the transaction a batch's handlers write through. It is a [pgx.Tx]
// — use Exec, Query and the rest as usual — with one addition: [Tx.Queue]
// adds a statement to a pipeline that is sent in one round trip before
// anything else runs on the transaction (the next Exec, Query, QueryRow,
// CopyFrom, SendBatch or Begin, or the checkpoint write), so statements keep
// their order. Handlers that only write should Queue: a batch of a thousand
// events then costs a few round trips instead of a thousand.
//
// An error of a queued statement surfaces when the pipeline is sent, without
// naming the event that queued it; the runner then applies the batch one
// event at a time to find it.
//
// The runner owns the transaction: Commit and Rollback are refused.
type Tx struct {
	pgx.Tx
	batch pgx.Batch

	schema, projection string   // the claim's, for ShadowTables
	shadow             string   // set by ShadowTables during a reset
	shadowTables       []string // the live tables it shadows, schema.table
}

var _ pgx.Tx = (*Tx)(nil)

// ErrTxOwned: a handler tried to end the batch's transaction.
var ErrTxOwned = errors.New("projection/postgres: the runner commits or rolls back the batch's transaction")

// Queue adds a statement to the pipeline. Its result is not available; use
// Exec for statements whose result matters.
func (t *Tx) Queue(sql string, args ...any) {
	t.batch.Queue(sql, args...)
}

// Flush sends the queued statements now and returns the first error.
func (t *Tx) Flush(ctx context.Context) error {
	if t.batch.Len() == 0 {
		return nil
	}
	b := t.batch
	t.batch = pgx.Batch{}
	return t.Tx.SendBatch(ctx, &b).Close()
}

// Exec flushes the queue, then executes sql.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.Flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.Tx.Exec(ctx, sql, args...)
}

// Query flushes the queue, then runs sql.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Query(ctx, sql, args...)
}

// QueryRow flushes the queue, then runs sql.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.Flush(ctx); err != nil {
		return errRow{err}
	}
	return t.Tx.QueryRow(ctx, sql, args...)
}

// CopyFrom flushes the queue, then copies.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.Flush(ctx); err != nil {
		return 0, err
	}
	return t.Tx.CopyFrom(ctx, table, columns, src)
}

// SendBatch flushes the queue, then sends b.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.Flush(ctx); err != nil {
		return errBatch{err}
	}
	return t.Tx.SendBatch(ctx, b)
}

// Begin flushes the queue, then starts a savepoint.
func (t *Tx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Begin(ctx)
}

// Commit is refused: the runner commits the batch with its checkpoint.
func (t *Tx) Commit(context.Context) error { return ErrTxOwned }

// Rollback is refused: return an error from the handler instead.
func (t *Tx) Rollback(context.Context) error { return ErrTxOwned }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
