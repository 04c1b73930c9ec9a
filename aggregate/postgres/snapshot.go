package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/aggregate"
)

// LoadSnapshot implements [aggregate.SnapshotStore].
func (s *SnapshotStore) LoadSnapshot(ctx context.Context, stream string) (aggregate.Snapshot, bool, error) {
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
	switch {
	case snap.Stream == "":
		return nil, errors.New("snapshots: save: empty stream ID")
	case snap.Type == "":
		return nil, fmt.Errorf("snapshots: save %q: empty aggregate type", snap.Stream)
	case snap.Version == 0 || snap.Version > math.MaxInt64:
		return nil, fmt.Errorf("snapshots: save %q: version %d out of range", snap.Stream, snap.Version)
	case snap.SchemaVersion < 1 || snap.SchemaVersion > math.MaxInt32:
		return nil, fmt.Errorf("snapshots: save %q: schema version %d out of range", snap.Stream, snap.SchemaVersion)
	}
	data := snap.Data
	if data == nil {
		data = []byte{}
	}
	at := snap.CreatedAt
	if at.IsZero() {
		at = time.Now()
	}
	return []any{snap.Stream, snap.Type, int64(snap.Version), int32(snap.SchemaVersion), data, at.UTC()}, nil
}
