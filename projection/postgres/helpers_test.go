package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

type Deposited struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

type Withdrawn struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

func registry() *eventstore.Registry {
	reg := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Deposited](reg, "Deposited")
	eventstore.MustRegister[Withdrawn](reg, "Withdrawn")
	return reg
}

func encode(t testing.TB, reg *eventstore.Registry, vs ...any) []eventstore.Event {
	t.Helper()
	out := make([]eventstore.Event, len(vs))
	for i, v := range vs {
		e, err := reg.Encode(v, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func appendTo(t testing.TB, store eventstore.Store, reg *eventstore.Registry, stream string, vs ...any) []eventstore.Position {
	t.Helper()
	res, err := store.Append(context.Background(), stream, eventstore.Any, encode(t, reg, vs...)...)
	if err != nil {
		t.Error(err)
		return nil
	}
	return res.Positions
}

// ledger is a PostgreSQL read model of two tables: balances per account,
// and how many times each event was applied, so doubles and misses show.
type ledger struct {
	name string
	proj *projection.Projection[*projpg.Tx]
	hook atomic.Pointer[func(context.Context, *projpg.Tx, eventstore.RecordedEvent) error]
}

func newLedger(t testing.TB, pool *pgxpool.Pool, reg *eventstore.Registry, name string) *ledger {
	t.Helper()
	l := &ledger{name: name}
	applied, balance := pgx.Identifier{name + "_applied"}.Sanitize(), pgx.Identifier{name + "_balance"}.Sanitize()
	if _, err := pool.Exec(context.Background(), `
		CREATE TABLE `+applied+` (event_id uuid PRIMARY KEY, n integer NOT NULL);
		CREATE TABLE `+balance+` (account text PRIMARY KEY, amount bigint NOT NULL CHECK (amount < 1000000))`); err != nil {
		t.Fatal(err)
	}
	p := projection.New[*projpg.Tx](name, reg)
	apply := func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent, account string, delta int) error {
		if h := l.hook.Load(); h != nil {
			if err := (*h)(ctx, tx, rec); err != nil {
				return err
			}
		}
		tx.Queue(`INSERT INTO `+applied+` AS a VALUES ($1, 1) ON CONFLICT (event_id) DO UPDATE SET n = a.n + 1`, rec.ID)
		tx.Queue(`INSERT INTO `+balance+` AS b VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET amount = b.amount + $2`, account, delta)
		return nil
	}
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e Deposited, rec eventstore.RecordedEvent) error {
		return apply(ctx, tx, rec, e.Account, e.Amount)
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e Withdrawn, rec eventstore.RecordedEvent) error {
		return apply(ctx, tx, rec, e.Account, -e.Amount)
	})
	p.OnReset(projpg.Truncate(name+"_applied", name+"_balance"))
	l.proj = p
	return l
}

func (l *ledger) setHook(h func(context.Context, *projpg.Tx, eventstore.RecordedEvent) error) {
	l.hook.Store(&h)
}

// checkOnce asserts that every event of store the projection handles was
// applied exactly once, and nothing else.
func (l *ledger) checkOnce(t *testing.T, pool *pgxpool.Pool, store eventstore.Store) {
	t.Helper()
	ctx := context.Background()
	filter := l.proj.Filter()
	want := 0
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if filter.Match(e.StreamID, e.Type) {
			want++
		}
	}
	var rows, notOnce int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n <> 1) FROM `+pgx.Identifier{l.name + "_applied"}.Sanitize()).
		Scan(&rows, &notOnce); err != nil {
		t.Fatal(err)
	}
	if rows != want || notOnce != 0 {
		t.Fatalf("%s: %d events applied (%d of them not exactly once), want %d each once", l.name, rows, notOnce, want)
	}
}

func (l *ledger) checksum(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var sum string
	for _, table := range []string{l.name + "_applied", l.name + "_balance"} {
		s, err := projpg.Checksum(context.Background(), pool, table)
		if err != nil {
			t.Fatal(err)
		}
		sum += s
	}
	return sum
}

func newStore(t testing.TB, pool *pgxpool.Pool, schema, owner string) *projpg.Store {
	t.Helper()
	s, err := projpg.New(pool, projpg.Config{Schema: schema, Owner: owner, ClaimInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

var fast = projection.Config{BatchSize: 100, MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond}

func start(t *testing.T, r *projection.Runner[*projpg.Tx]) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(ctx context.Context, pool *pgxpool.Pool, schema, name string) (projection.Record, error) {
	recs, err := projpg.ListStatus(ctx, pool, schema)
	if err != nil {
		return projection.Record{}, err
	}
	for _, r := range recs {
		if r.Name == name {
			return r, nil
		}
	}
	return projection.Record{}, nil
}

// caughtUp reports whether the projection's checkpoint is exactly the
// position of the last event of store it handles.
func caughtUp(ctx context.Context, pool *pgxpool.Pool, schema string, store eventstore.Store, l *ledger) (bool, error) {
	filter := l.proj.Filter()
	// Readers see the log up to the horizon only: while a transaction
	// anywhere in the cluster (another package's test) holds it, the
	// events the test appended last may be committed and not yet
	// readable, and "the checkpoint is at the last event readers see"
	// would hold before the projection handled them. Not caught up while
	// committed events wait behind the horizon.
	if hr, ok := store.(eventstore.HorizonReader); ok {
		h, err := hr.Horizon(ctx)
		if err != nil {
			return false, err
		}
		if h.Tip.After(h.Head) {
			return false, nil
		}
	}
	var last eventstore.Position
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards}) {
		if err != nil {
			return false, err
		}
		if filter.Match(e.StreamID, e.Type) {
			last = e.Position
			break
		}
	}
	r, err := status(ctx, pool, schema, l.name)
	if err != nil {
		return false, err
	}
	if r.Checkpoint.After(last) {
		return false, fmt.Errorf("checkpoint %v is past the last event %v", r.Checkpoint, last)
	}
	return r.Checkpoint == last && r.State == projection.Running, nil
}

// lockHolder returns the backend pid holding the projection's advisory
// lock, or 0.
func lockHolder(ctx context.Context, pool *pgxpool.Pool, schema, name string) (int32, error) {
	var pid int32
	// As docs/postgres.md tells an operator to find it.
	err := pool.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
		AND classid = hashtext('chronicle.projection:"' || $1 || '"')::oid AND objid = hashtext($2)::oid`,
		schema, name).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return pid, err
}

func terminate(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate %d: %v %v", pid, ok, err)
	}
}
