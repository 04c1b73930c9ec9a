package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chronicle-go/chronicle/eventstore"
)

var _ eventstore.HorizonReader = (*Store)(nil)

// Horizon implements [eventstore.HorizonReader]: the last committed event
// (Tip), the last one below the horizon (Head, as [Store.Head]), and, while
// the horizon holds committed events back, the transaction holding it: the
// one whose ID is the oldest still running in the cluster, in any database.
func (s *Store) Horizon(ctx context.Context) (eventstore.Horizon, error) {
	var (
		h                           eventstore.Horizon
		tipTid, tipPos, headTid, hp pgtype.Int8
		pid                         pgtype.Int4
		xid                         pgtype.Int8
		db, app, state              pgtype.Text
		since                       pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, s.sql.horizon).
		Scan(&tipTid, &tipPos, &headTid, &hp, &pid, &db, &xid, &app, &state, &since)
	if err != nil {
		return eventstore.Horizon{}, s.mapError("horizon", "", err)
	}
	if tipTid.Valid {
		h.Tip = eventstore.Position{Commit: uint64(tipTid.Int64), Prepare: uint64(tipPos.Int64)}
	}
	if headTid.Valid {
		h.Head = eventstore.Position{Commit: uint64(headTid.Int64), Prepare: uint64(hp.Int64)}
	}
	if h.Held() && pid.Valid {
		h.Holder = &eventstore.HorizonHolder{PID: pid.Int32, Database: db.String, TransactionID: uint64(xid.Int64),
			Application: app.String, State: state.String}
		if since.Valid {
			h.Holder.Since = since.Time.In(time.UTC)
		}
	}
	return h, nil
}
