package postgres

import (
	"context"
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
	if _, err := tx.Exec(ctx, s.sql.reanchorLock); err != nil {
		return 0, 0, s.mapError("reanchor", "", err)
	}
	var old, next int64
	err = tx.QueryRow(ctx, s.sql.reanchor).Scan(&old, &next)
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
