package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// TestUpgradeToParkedKind: a schema at version 1, holding a relay and a
// parked message, takes migration 2, which says what each parked row
// holds: the old row reads back as a message, unchanged.
func TestUpgradeToParkedKind(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := t.Context()
	v1 := relaypg.Migrations
	v1.Migrations = v1.Migrations[:1]
	_, err := pgmigrate.Apply(ctx, pool, schema, v1)
	require.NoError(t, err)
	at := eventstore.Position{Commit: 1 << 40, Prepare: 7}
	_, err = pool.Exec(ctx, `INSERT INTO relay_checkpoints (name, commit_pos, prepare_pos) VALUES ('orders', $1, $2)`, int64(at.Commit), int64(at.Prepare))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO relay_parked (relay, message_id, commit_pos, prepare_pos, type, subject, attributes, data, error, attempts)
		VALUES ('orders', 'm-1', $1, $2, 'OrderPlaced', 'order-1',
			'{"specversion": "1.0", "id": "m-1", "source": "/s", "type": "OrderPlaced", "subject": "order-1"}', '\x7b7d', 'no route', 2)`,
		int64(at.Commit), int64(at.Prepare))
	require.NoError(t, err)

	s, err := relaypg.New(pool, relaypg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	list, err := s.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Len(t, list, 1)
	p := list[0]
	require.Equal(t, relay.KindMessage, p.Kind)
	require.Equal(t, broker.Message{ID: "m-1", Source: "/s", Type: "OrderPlaced", Subject: "order-1", Data: []byte(`{}`)}, p.Message)
	require.Equal(t, at, p.Position)
	require.Equal(t, "no route", p.Error)
	require.Equal(t, 2, p.Attempts)
}

// TestParkedUnreadable: an unreadable event's entry keeps what the store's
// error named and how many reads failed, through a retry that fails again
// and one that publishes it.
func TestParkedUnreadable(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := relaypg.New(pool, relaypg.Config{Schema: schema, Owner: "test", ClaimInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	c, err := s.Claim(ctx, "orders", eventstore.Filter{})
	require.NoError(t, err)
	defer c.Release(context.WithoutCancel(ctx))
	at := eventstore.Position{Commit: 12, Prepare: 3}
	id := eventstore.NewEventID().String()
	want := relay.Parked{Relay: "orders", Kind: relay.KindUnreadable, Position: at, State: relay.StateParked, Attempts: 3,
		Error:   "eventstore: unreadable event …: out of memory (SQLSTATE 54000)",
		Message: broker.Message{ID: id, Source: "/s", Type: "OrderPlaced", Subject: "order-2", Position: at, StreamVersion: 4}}
	require.NoError(t, c.Advance(ctx, eventstore.Position{}, at, time.Time{}, 0, []relay.Parked{want}))

	list, err := s.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Len(t, list, 1)
	got := list[0]
	require.WithinDuration(t, time.Now(), got.ParkedAt, time.Hour)
	got.ParkedAt = time.Time{}
	require.Equal(t, want, got)
	rec, err := c.Record(ctx)
	require.NoError(t, err)
	require.Equal(t, at, rec.Checkpoint)
	require.True(t, rec.CheckpointAt.IsZero(), "the unreadable event's time is not known")
	require.Equal(t, 1, rec.Parked)

	n, err := s.Retry(ctx, "orders", id)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	retries, err := c.Retries(ctx)
	require.NoError(t, err)
	require.Len(t, retries, 1)
	require.Equal(t, relay.KindUnreadable, retries[0].Kind)
	require.Equal(t, "order-2", retries[0].Message.Subject)
	require.Equal(t, uint64(4), retries[0].Message.StreamVersion)
	require.NoError(t, c.Resolve(ctx, id, errorString("still unreadable")))
	list, err = s.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Equal(t, relay.StateParked, list[0].State)
	require.Equal(t, relay.KindUnreadable, list[0].Kind)
	require.Equal(t, "still unreadable", list[0].Error)
	require.Equal(t, 4, list[0].Attempts)

	_, err = s.Retry(ctx, "orders", id)
	require.NoError(t, err)
	require.NoError(t, c.Resolve(ctx, id, nil))
	list, err = s.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Empty(t, list)
	rec, err = c.Record(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), rec.Published)
}

type errorString string

func (e errorString) Error() string { return string(e) }
