package banking

import (
	"context"
	"embed"
	"strings"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the bank's own tables (the read model), component
// "bank", beside chronicle's components.
var Migrations = pgmigrate.MustLoad("bank", migrationFiles, "migrations")

// Balances is the balances read model: the table balances, written in the
// same transaction as the projection's checkpoint. Statements name the
// table unqualified: the pool's search_path starts with the bank's schema.
func Balances(events *eventstore.Registry) *projection.Projection[*projpg.Tx] {
	p := projection.New[*projpg.Tx]("balances", events)
	p.StreamPrefixes("account-")
	add := func(tx *projpg.Tx, rec eventstore.RecordedEvent, amount int64) {
		tx.Queue(`UPDATE balances SET balance = balance + $2 WHERE id = $1`, accountID(rec), amount)
	}
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e AccountOpened, rec eventstore.RecordedEvent) error {
		tx.Queue(`INSERT INTO balances (id, owner, balance) VALUES ($1, $2, 0)`, accountID(rec), e.Owner)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e Deposited, rec eventstore.RecordedEvent) error {
		add(tx, rec, e.Amount)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e TransferDebited, rec eventstore.RecordedEvent) error {
		add(tx, rec, -e.Amount)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e TransferCredited, rec eventstore.RecordedEvent) error {
		add(tx, rec, e.Amount)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e DebitRefunded, rec eventstore.RecordedEvent) error {
		add(tx, rec, e.Amount)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e AccountFrozen, rec eventstore.RecordedEvent) error {
		tx.Queue(`UPDATE balances SET frozen = true WHERE id = $1`, accountID(rec))
		return nil
	})
	p.OnReset(projpg.Truncate("balances"))
	return p
}

// accountID is the account's ID: its stream is "account-<id>".
func accountID(rec eventstore.RecordedEvent) string {
	return strings.TrimPrefix(rec.StreamID, "account-")
}
