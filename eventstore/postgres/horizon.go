package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

var _ eventstore.HorizonReader = (*Store)(nil)

// Horizon implements [eventstore.HorizonReader]: the last committed event
// (Tip), the last one below the horizon (Head, as [Store.Head]), and, while
// the horizon holds committed events back, the transaction holding it: the
// one whose ID is the oldest still running in the cluster, in any database.
func (s *Store) Horizon(ctx context.Context) (eventstore.Horizon, error) {
	events, epoch := pgmigrate.Table(s.cfg.Schema, "events"), pgmigrate.Table(s.cfg.Schema, "epoch")
	var (
		h                           eventstore.Horizon
		tipTid, tipPos, headTid, hp pgtype.Int8
		pid                         pgtype.Int4
		xid                         pgtype.Int8
		db, app, state              pgtype.Text
		since                       pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `WITH x AS MATERIALIZED (
			SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin,
			       pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT offset_xid FROM `+epoch+`) AS horizon),
		tip AS (SELECT transaction_id, position FROM `+events+` ORDER BY transaction_id DESC, position DESC LIMIT 1),
		head AS (SELECT ev.transaction_id, ev.position FROM x, LATERAL (
			SELECT transaction_id, position FROM `+events+` WHERE transaction_id < x.horizon
			ORDER BY transaction_id DESC, position DESC LIMIT 1) ev),
		holder AS (
			SELECT a.pid, a.datname::text AS db, a.backend_xid::text::bigint AS xid, a.application_name AS app, a.state, a.xact_start AS since
			FROM pg_stat_activity a, x WHERE a.backend_xid = xid(x.xmin)
			UNION ALL
			SELECT 0, p.database::text, p.transaction::text::bigint, p.gid, 'prepared', p.prepared
			FROM pg_prepared_xacts p, x WHERE p.transaction = xid(x.xmin)
			LIMIT 1)
		SELECT tip.transaction_id, tip.position, head.transaction_id, head.position,
		       holder.pid, holder.db, holder.xid, holder.app, holder.state, holder.since
		FROM (SELECT 1) one LEFT JOIN tip ON true LEFT JOIN head ON true LEFT JOIN holder ON true`).
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
