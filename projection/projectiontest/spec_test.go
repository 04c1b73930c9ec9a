package projectiontest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/projection/projectiontest"
)

type (
	Opened struct {
		Owner string `json:"owner"`
	}
	Deposited struct {
		Amount int64 `json:"amount"`
	}
	Noted struct {
		Text string `json:"text"`
	}
)

func registry() *eventstore.Registry {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Opened](r, "Opened")
	eventstore.MustRegister[Deposited](r, "Deposited")
	eventstore.MustRegister[Noted](r, "Noted")
	return r
}

type balance struct {
	Owner  string
	Amount int64
}

// memoryBalances is a read model in memory: a balance per account.
func memoryBalances(reg *eventstore.Registry) (*projection.Projection[*projection.MemoryTx], *projection.Table[string, balance], *projection.MemoryStore) {
	store := projection.NewMemoryStore()
	table := projection.NewTable[string, balance](store)
	p := projection.New[*projection.MemoryTx]("balances", reg)
	projection.On(p, func(_ context.Context, tx *projection.MemoryTx, e Opened, rec eventstore.RecordedEvent) error {
		table.Put(tx, rec.StreamID, balance{Owner: e.Owner})
		return nil
	})
	projection.On(p, func(_ context.Context, tx *projection.MemoryTx, e Deposited, rec eventstore.RecordedEvent) error {
		b, ok := table.GetTx(tx, rec.StreamID)
		if !ok {
			return fmt.Errorf("deposit to %s, which was never opened", rec.StreamID)
		}
		b.Amount += e.Amount
		table.Put(tx, rec.StreamID, b)
		return nil
	})
	return p, table, store
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestMemoryReadModel(t *testing.T) {
	reg := registry()
	p, table, store := memoryBalances(reg)
	spec := projectiontest.For(t, reg, p, store).
		Given("account-a", Opened{Owner: "Ann"}, Deposited{Amount: 100}).
		Given("account-b", Opened{Owner: "Bob"}).
		Given("notes-1", Noted{Text: "not the projection's business"})
	projectiontest.ThenTable(spec, table, map[string]balance{"account-a": {"Ann", 100}, "account-b": {"Bob", 0}})
	// More events on top of those applied.
	spec.Given("account-b", Deposited{Amount: 5}, Deposited{Amount: 7})
	projectiontest.ThenTable(spec, table, map[string]balance{"account-a": {"Ann", 100}, "account-b": {"Bob", 12}})
}

func TestMemoryReadModelReports(t *testing.T) {
	reg := registry()

	r := &recorder{TB: t}
	p, table, store := memoryBalances(reg)
	projectiontest.ThenTable(projectiontest.For(r, reg, p, store).Given("account-a", Opened{Owner: "Ann"}, Deposited{Amount: 1}),
		table, map[string]balance{"account-a": {"Ann", 2}, "account-z": {"Zoe", 0}})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "table differs") ||
		!strings.Contains(r.errors[0], `- account-a: projectiontest_test.balance {"Owner":"Ann","Amount":2}`) ||
		!strings.Contains(r.errors[0], `+ account-a: projectiontest_test.balance {"Owner":"Ann","Amount":1}`) ||
		!strings.Contains(r.errors[0], "- account-z:") {
		t.Errorf("a wrong table: %q", r.errors)
	}

	r = &recorder{TB: t}
	p, table, store = memoryBalances(reg)
	projectiontest.ThenTable(projectiontest.For(r, reg, p, store).Given("account-a", "opened"), table, nil)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `given event string "opened": eventstore: Go type string is not registered`) {
		t.Errorf("a string as an event: %q", r.errors)
	}

	// A handler that fails stops the projection: Then says where and why;
	// ThenStops expects it.
	r = &recorder{TB: t}
	p, table, store = memoryBalances(reg)
	projectiontest.ThenTable(projectiontest.For(r, reg, p, store).Given("account-q", Deposited{Amount: 1}), table, nil)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "balances: stopped at account-q@1 Deposited: ") ||
		!strings.Contains(r.errors[0], "deposit to account-q, which was never opened") {
		t.Errorf("a failing handler: %q", r.errors)
	}
	p, _, store = memoryBalances(reg)
	projectiontest.For(t, reg, p, store).Given("account-q", Deposited{Amount: 1}).ThenStops("never opened")
	r = &recorder{TB: t}
	p, _, store = memoryBalances(reg)
	projectiontest.For(r, reg, p, store).Given("account-q", Opened{}).ThenStops("never opened")
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "applied every event, want it stopped") {
		t.Errorf("ThenStops without a failure: %q", r.errors)
	}

	// A broken definition is reported at once.
	r = &recorder{TB: t}
	bad := projection.New[*projection.MemoryTx]("bad", reg)
	projectiontest.For(r, reg, bad, projection.NewMemoryStore()).Given("x", Opened{}).ThenStops("x")
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `projection "bad" has no handlers`) {
		t.Errorf("a projection without handlers: %q", r.errors)
	}
}

// postgresBalances is the same read model in PostgreSQL: a table in the
// schema, named unqualified as on the application's connections.
func postgresBalances(reg *eventstore.Registry) *projection.Projection[*projpg.Tx] {
	p := projection.New[*projpg.Tx]("balances", reg)
	projection.On(p, func(_ context.Context, tx *projpg.Tx, e Opened, rec eventstore.RecordedEvent) error {
		tx.Queue(`INSERT INTO balances (account, owner, amount) VALUES ($1, $2, 0)`, rec.StreamID, e.Owner)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e Deposited, rec eventstore.RecordedEvent) error {
		if e.Amount <= 0 {
			return errors.New("a deposit must be positive")
		}
		tx.Queue(`UPDATE balances SET amount = amount + $2 WHERE account = $1`, rec.StreamID, e.Amount)
		return nil
	})
	p.OnReset(projpg.Truncate("balances"))
	return p
}

func TestPostgresReadModel(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE balances (account text PRIMARY KEY, owner text NOT NULL, amount bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	cps, err := projpg.New(pool, projpg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgmigrate.Apply(ctx, pool, schema, projpg.Migrations); err != nil {
		t.Fatal(err)
	}
	reg := registry()
	rows := pgtest.Rows(pool, `SELECT account, owner, amount FROM balances ORDER BY account`)
	spec := projectiontest.For(t, reg, postgresBalances(reg), cps).
		Given("account-a", Opened{Owner: "Ann"}, Deposited{Amount: 100}).
		Given("account-b", Opened{Owner: "Bob"}).
		ThenRows(rows, []any{"account-a", "Ann", 100}, []any{"account-b", "Bob", 0})
	spec.Given("account-b", Deposited{Amount: 12}).
		ThenRows(rows, []any{"account-a", "Ann", 100}, []any{"account-b", "Bob", 12})

	// A second spec on the same checkpoints would read a new log from the
	// old checkpoint: refused.
	r := &recorder{TB: t}
	projectiontest.For(r, reg, postgresBalances(reg), cps).Given("account-c", Opened{Owner: "Cy"}).ThenRows(rows)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "already holds a checkpoint of balances") {
		t.Errorf("a reused checkpoint store: %q", r.errors)
	}
}

func TestPostgresReadModelReports(t *testing.T) {
	reg := registry()
	fresh := func(t *testing.T) (*projpg.Store, projectiontest.Rows) {
		pool, schema := pgtest.Pool(t)
		if _, err := pool.Exec(t.Context(), `CREATE TABLE balances (account text PRIMARY KEY, owner text NOT NULL, amount bigint NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := pgmigrate.Apply(t.Context(), pool, schema, projpg.Migrations); err != nil {
			t.Fatal(err)
		}
		cps, err := projpg.New(pool, projpg.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return cps, pgtest.Rows(pool, `SELECT account, amount FROM balances ORDER BY account`)
	}

	cps, rows := fresh(t)
	r := &recorder{TB: t}
	projectiontest.For(r, reg, postgresBalances(reg), cps).
		Given("account-a", Opened{Owner: "Ann"}, Deposited{Amount: 100}).
		ThenRows(rows, []any{"account-a", 99})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "balances: rows differ (- want, + got):\n"+
		`- 1. []interface {} ["account-a",99]`+"\n"+`+ 1. []interface {} ["account-a",100]`) {
		t.Errorf("wrong rows: %q", r.errors)
	}

	cps, _ = fresh(t)
	projectiontest.For(t, reg, postgresBalances(reg), cps).
		Given("account-a", Opened{Owner: "Ann"}, Deposited{Amount: -5}).
		ThenStops("a deposit must be positive")
}
