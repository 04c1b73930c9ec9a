package banking_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/examples/bank/banking"
	"github.com/chronicle-go/chronicle/pgtest"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/projection/projectiontest"
)

func TestBalances(t *testing.T) {
	pool, schema := pgtest.Pool(t) // a fresh schema, first on the pool's search_path
	if err := banking.Migrate(t.Context(), pool, schema); err != nil {
		t.Fatal(err)
	}
	checkpoints, err := projpg.New(pool, projpg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	balances := pgtest.Rows(pool, `SELECT id, owner, balance, frozen FROM balances ORDER BY id`)
	events := banking.Events()
	projectiontest.For(t, events, banking.Balances(events), checkpoints).
		Given("account-a", banking.AccountOpened{Owner: "Ann"}, banking.Deposited{Amount: 100_00}).
		Given("account-b", banking.AccountOpened{Owner: "Bob"}).
		Given("transfer-t1", banking.TransferRequested{Transfer: "t1", From: "a", To: "b", Amount: 30_00}). // not an account's
		ThenRows(balances,
			[]any{"a", "Ann", 100_00, false},
			[]any{"b", "Bob", 0, false}).
		Given("account-a", banking.TransferDebited{Transfer: "t1", Amount: 30_00}).
		Given("account-b", banking.TransferCredited{Transfer: "t1", Amount: 30_00}, banking.AccountFrozen{Reason: "audit"}).
		Given("account-a", banking.DebitDeclined{Transfer: "t2", Amount: 1_000_00, Balance: 70_00}). // changes nothing
		ThenRows(balances,
			[]any{"a", "Ann", 70_00, false},
			[]any{"b", "Bob", 30_00, true})
}
