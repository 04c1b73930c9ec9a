package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open a store, create its schema, append, and read the stream back. (No
// Output comment: it needs a PostgreSQL server, so `go test` compiles it but
// does not run it.)
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := espg.New(pool, espg.Config{Schema: "chronicle"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil { // or `chronicle migrate`
		log.Fatal(err)
	}
	_, err = store.Append(ctx, "order-42", eventstore.NoStream,
		eventstore.NewEvent("OrderPlaced", []byte(`{"lines":3}`)))
	if err != nil {
		log.Fatal(err)
	}
	for e, err := range store.ReadStream(ctx, "order-42", eventstore.ReadStreamOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Version, e.Type)
	}
}

// Append inside your own transaction, so the events and your writes commit
// together; wake subscribers after the commit.
func ExampleStore_AppendTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := espg.New(pool, espg.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE order_summary SET status = 'placed' WHERE id = 42`); err != nil {
			return err
		}
		_, err := store.AppendTx(ctx, tx, "order-42", eventstore.Exact(0),
			eventstore.NewEvent("OrderPlaced", []byte(`{"lines":3}`)))
		return err // a retryable conflict (eventstore.IsRetryable): run the transaction again
	})
	if err != nil {
		log.Fatal(err)
	}
	store.NotifyAppended()
}
