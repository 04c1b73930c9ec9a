package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/aggregate"
)

// LoadSnapshot implements [aggregate.SnapshotStore].
func (s *SnapshotStore) LoadSnapshot(ctx context.Context, stream string) (aggregate.Snapshot, bool, error) {
	if err := ctx.Err(); err != nil {
		return aggregate.Snapshot{}, false, err
	}
	if (aggregate.Snapshot{Stream: stream, Type: "t", Version: 1, SchemaVersion: 1}).Validate() != nil {
		return aggregate.Snapshot{}, false, nil // no snapshot can have this stream ID
	}
	snap := aggregate.Snapshot{Stream: stream}
	var version int64
	var schema int32
	err := s.pool.QueryRow(ctx, s.load, stream).Scan(&snap.Type, &version, &schema, &snap.Data, &snap.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return aggregate.Snapshot{}, false, nil
	}
	if err != nil {
		return aggregate.Snapshot{}, false, fmt.Errorf("snapshots: load %q: %w", stream, err)
	}
	snap.Version, snap.SchemaVersion = uint64(version), int(schema)
	snap.CreatedAt = snap.CreatedAt.UTC()
	return snap, true, nil
}

// SaveSnapshot implements [aggregate.SnapshotStore].
func (s *SnapshotStore) SaveSnapshot(ctx context.Context, snap aggregate.Snapshot) error {
	args, err := snapshotArgs(snap)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.upsert, args...); err != nil {
		return fmt.Errorf("snapshots: save %q at version %d: %w", snap.Stream, snap.Version, err)
	}
	return nil
}

// SaveTx stores snap inside the caller's transaction tx, with the rule of
// SaveSnapshot.
func (s *SnapshotStore) SaveTx(ctx context.Context, tx pgx.Tx, snap aggregate.Snapshot) error {
	if tx == nil {
		return errors.New("snapshots: SaveTx: nil transaction")
	}
	args, err := snapshotArgs(snap)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, s.upsert, args...); err != nil {
		return fmt.Errorf("snapshots: save %q at version %d: %w", snap.Stream, snap.Version, err)
	}
	return nil
}

func snapshotArgs(snap aggregate.Snapshot) ([]any, error) {
	if err := snap.Validate(); err != nil {
		return nil, err
	}
	snap = snap.Stored(time.Now())
	return []any{snap.Stream, snap.Type, int64(snap.Version), int32(snap.SchemaVersion), snap.Data, snap.CreatedAt}, nil
}
