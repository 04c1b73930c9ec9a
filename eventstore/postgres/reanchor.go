package postgres

import (
	"context"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// Reanchor repairs the store after a pg_dump/restore (or any move to a
// server whose transaction ids are lower than the stored ones). Stored
// events keep their transaction ids, but the new server hands out lower
// ones: the horizon would stay below every stored event, hiding new events
// from every subscriber, and the order guard would refuse every append to an
// existing stream.
//
// Reanchor raises the epoch offset, added to every transaction id the store
// writes and to the horizon, so that every transaction from now on sorts
// after every stored event. It never lowers the offset, so running it when
// nothing was restored changes nothing, and running it twice is harmless.
// It takes ACCESS EXCLUSIVE locks on the epoch and events tables
// for its short transaction, so concurrent appends and reads wait for it and
// appends then use the new offset. Run it after a restore, before writers
// start. It returns the old and new offsets.
func (s *Store) Reanchor(ctx context.Context) (before, after uint64, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, s.mapError("reanchor", "", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	events := pgmigrate.Table(s.cfg.Schema, "events")
	epoch := pgmigrate.Table(s.cfg.Schema, "epoch")
	if _, err := tx.Exec(ctx, `LOCK TABLE `+epoch+`, `+events+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return 0, 0, s.mapError("reanchor", "", err)
	}
	var old, next int64
	err = tx.QueryRow(ctx, `
		WITH cur AS (
			SELECT ep.offset_xid AS old,
			       pg_current_xact_id()::text::bigint AS xid,
			       coalesce((SELECT max(transaction_id) FROM `+events+`), 0) AS stored
			FROM `+epoch+` ep FOR UPDATE)
		UPDATE `+epoch+` SET offset_xid = greatest(cur.old, cur.stored + 1 - cur.xid),
		       reanchored_at = CASE WHEN cur.stored + 1 - cur.xid > cur.old THEN now() ELSE reanchored_at END
		FROM cur RETURNING cur.old, offset_xid`).Scan(&old, &next)
	if err != nil {
		return 0, 0, s.mapError("reanchor", "", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, s.mapError("reanchor", "", err)
	}
	if next != old {
		s.log.Info("chronicle: event store reanchored", "offset_before", old, "offset_after", next)
		s.NotifyAppended()
	}
	return uint64(old), uint64(next), nil
}
