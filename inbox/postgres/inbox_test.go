package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/inbox"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/pgtest"
)

// setup returns a migrated store on a fresh schema with an effects table
// that records every application of a message (no key: a double would
// show).
func setup(t *testing.T) (*pgxpool.Pool, *inboxpg.Store) {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(8))
	store, err := inboxpg.New(pool, inboxpg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	_, err = pool.Exec(context.Background(), `CREATE TABLE effects (message_id text NOT NULL, subject text NOT NULL)`)
	require.NoError(t, err)
	return pool, store
}

// effect is the handler every test uses: one row per application.
var effect = inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (message_id, subject) VALUES ($1, $2)`, m.ID, m.Subject)
	return err
})

func messages(n int) []broker.Message {
	out := make([]broker.Message, n)
	for i := range out {
		out[i] = broker.Message{ID: uuid.Must(uuid.NewV7()).String(), Source: "/test", Type: "ThingHappened",
			Subject: fmt.Sprintf("thing-%d", i), DataContentType: broker.ContentTypeJSON, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	return out
}

func publish(t *testing.T, p broker.Publisher, msgs []broker.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var confs []broker.Confirmation
	for _, m := range msgs {
		c, err := p.Publish(ctx, m)
		require.NoError(t, err)
		confs = append(confs, c)
	}
	for _, c := range confs {
		require.NoError(t, broker.Wait(ctx, c))
	}
}

// applied returns how many times each message was applied.
func applied(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT message_id, count(*) FROM effects GROUP BY message_id`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// waitApplied waits until n distinct messages were applied.
func waitApplied(t *testing.T, pool *pgxpool.Pool, n int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := applied(t, pool)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages applied", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireOnce(t *testing.T, msgs []broker.Message, got map[string]int) {
	t.Helper()
	require.Len(t, got, len(msgs), "no message lost, none foreign")
	for _, m := range msgs {
		require.Equal(t, 1, got[m.ID], "message %s applied once", m.ID)
	}
}

func run(t *testing.T, in interface{ Run(context.Context) error }) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = in.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// TestAppliesOnce publishes messages, some of them twice, and consumes
// them with two inboxes racing on one consumer, one of them through a
// connection cut twice mid-consume: every message is applied exactly once.
func TestAppliesOnce(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, f *brokertest.Fixture) {
		pool, store := setup(t)
		msgs := messages(3000)
		pub := f.Publisher(t, "", 256)
		publish(t, pub, msgs)
		publish(t, pub, msgs[:300]) // at least once: a publisher sent these twice

		proxy := f.Proxy(t)
		c1, _ := f.Consumer(t, proxy.Addr())
		c2, _ := f.Consumer(t, "")
		cfg := inbox.Config{Name: "things", BatchSize: 50, Backoff: 10 * time.Millisecond}
		in1, err := inbox.New(c1, store, effect, cfg)
		require.NoError(t, err)
		in2, err := inbox.New(c2, store, effect, cfg)
		require.NoError(t, err)
		stop1, stop2 := run(t, in1), run(t, in2)
		for _, at := range []int{600, 1500} {
			for len(applied(t, pool)) < at {
				time.Sleep(5 * time.Millisecond)
			}
			proxy.Cut()
		}
		got := waitApplied(t, pool, len(msgs))
		// Let redeliveries of the cuts arrive before stopping.
		time.Sleep(200 * time.Millisecond)
		stop1()
		stop2()
		requireOnce(t, msgs, applied(t, pool))
		_ = got
		s1, s2 := in1.Stats(), in2.Stats()
		t.Logf("inbox 1: %+v; inbox 2: %+v", s1, s2)
		require.Equal(t, uint64(len(msgs)), s1.Applied+s2.Applied)
		if f.Name == "rabbitmq" {
			require.GreaterOrEqual(t, s1.Duplicates+s2.Duplicates, uint64(300), "the duplicates published were recognised")
		}
		st, err := inboxpg.Status(context.Background(), pool, storeSchema(t, pool))
		require.NoError(t, err)
		require.Equal(t, []inboxpg.ConsumerStatus{{Consumer: "things", Processed: int64(len(msgs)), LastProcessedAt: st[0].LastProcessedAt}}, st)
	})
}

func storeSchema(t *testing.T, pool *pgxpool.Pool) string {
	var s string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT current_schema()`).Scan(&s))
	return s
}

// killing wraps the store: after the kill-th commit it kills the
// consumer's connection before returning, so the inbox commits and then
// cannot ack — as a consumer killed between its commit and its ack.
type killing struct {
	*inboxpg.Store
	n, at  int
	kill   func()
	killed chan struct{}
}

func (k *killing) Commit(ctx context.Context, consumer string, ids []string, apply func(context.Context, *inboxpg.Tx, func(int) bool) error) error {
	err := k.Store.Commit(ctx, consumer, ids, apply)
	if k.n++; err == nil && k.n == k.at {
		k.kill()
		close(k.killed)
	}
	return err
}

// TestKilledAfterCommitBeforeAck: the messages whose effects committed but
// were never acked come again, to another consumer, which recognises them.
func TestKilledAfterCommitBeforeAck(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, f *brokertest.Fixture) {
		pool, store := setup(t)
		msgs := messages(500)
		publish(t, f.Publisher(t, "", 256), msgs)

		c1, kill := f.Consumer(t, "")
		killed := &killing{Store: store, at: 3, kill: kill, killed: make(chan struct{})}
		in1, err := inbox.New[*inboxpg.Tx](c1, killed, effect, inbox.Config{Name: "things", BatchSize: 20})
		require.NoError(t, err)
		stop1 := run(t, in1)
		select {
		case <-killed.killed:
		case <-time.After(time.Minute):
			t.Fatal("the consumer was not killed")
		}
		stop1()

		c2, _ := f.Consumer(t, "")
		in2, err := inbox.New(c2, store, effect, inbox.Config{Name: "things", BatchSize: 20})
		require.NoError(t, err)
		stop2 := run(t, in2)
		waitApplied(t, pool, len(msgs))
		// The unacked batch comes back after the broker's ack wait.
		deadline := time.Now().Add(30 * time.Second)
		for in2.Stats().Duplicates == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		stop2()
		requireOnce(t, msgs, applied(t, pool))
		require.Positive(t, in2.Stats().Duplicates, "the batch committed before the kill came again and was recognised")
	})
}

// TestPoisonIsParked: a message whose handler always fails is parked after
// MaxAttempts and acked, not redelivered for ever; the others are applied.
func TestPoisonIsParked(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, f *brokertest.Fixture) {
		pool, store := setup(t)
		msgs := messages(50)
		poison := msgs[17].ID
		publish(t, f.Publisher(t, "", 64), msgs)
		var tries atomic.Int32
		h := inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
			if m.ID == poison {
				tries.Add(1)
				return errors.New("cannot handle this one")
			}
			return effect(ctx, tx, m)
		})
		c, _ := f.Consumer(t, "")
		in, err := inbox.New(c, store, h, inbox.Config{Name: "things", MaxAttempts: 3, Backoff: 20 * time.Millisecond})
		require.NoError(t, err)
		stop := run(t, in)
		waitApplied(t, pool, len(msgs)-1)
		deadline := time.Now().Add(30 * time.Second)
		for in.Stats().Parked == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a looping message would be tried again meanwhile
		stop()
		require.Equal(t, int32(3), tries.Load(), "tried MaxAttempts times, then parked")
		got := applied(t, pool)
		require.Len(t, got, len(msgs)-1)
		require.NotContains(t, got, poison)
		parked, err := store.Parked(context.Background(), "things")
		require.NoError(t, err)
		require.Len(t, parked, 1)
		require.Equal(t, poison, parked[0].Message.ID)
		require.Equal(t, msgs[17].Data, parked[0].Message.Data)
		require.Equal(t, 3, parked[0].Attempts)
		require.Contains(t, parked[0].Error, "cannot handle this one")
		st, err := inboxpg.Status(context.Background(), pool, storeSchema(t, pool))
		require.NoError(t, err)
		require.Equal(t, 1, st[0].Parked)
		require.Equal(t, 0, st[0].Failing)
	})
}

func TestPrune(t *testing.T) {
	_, store := setup(t)
	ctx := context.Background()
	require.NoError(t, store.Commit(ctx, "c", []string{"a", "b", "a"}, func(ctx context.Context, tx *inboxpg.Tx, fresh func(int) bool) error {
		require.True(t, fresh(0))
		require.True(t, fresh(1))
		require.False(t, fresh(2), "a repeat within one batch is not fresh")
		return nil
	}))
	n, err := store.Prune(ctx, "c", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = store.Prune(ctx, "c", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
