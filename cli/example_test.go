package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// An application embeds the chronicle commands in its own binary, with its
// projections registered, so that `shopctl projections rebuild
// order_summary` replays the log through the application's handlers. In
// its main function:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, opts)
//	stop()
//	os.Exit(code)
//
// Here the command line is wrong (a schema name that is not an
// identifier), so the run needs no database and shows the exit code.
func Example_embedding() {
	opts := cli.Options{
		Name: "shopctl",
		Projections: func(ctx context.Context, env *cli.Env) (cli.ProjectionRunner, error) {
			checkpoints, err := projpg.New(env.Pool, projpg.Config{Schema: env.Schema})
			if err != nil {
				return nil, err
			}
			orders := projection.New[*projpg.Tx]("order_summary", nil)
			orders.Handle("OrderPlaced", projection.HandlerFunc[*projpg.Tx](
				func(ctx context.Context, tx *projpg.Tx, e eventstore.RecordedEvent) error {
					tx.Queue(`INSERT INTO shop.order_summary (order_id) VALUES ($1)`, e.StreamID)
					return nil
				}))
			orders.OnReset(projpg.Truncate("shop.order_summary"))
			return projection.NewRunner(env.Events, checkpoints, projection.Config{}, orders)
		},
	}
	args := []string{"--schema", "shop-1", "projections", "rebuild", "order_summary"}
	code := cli.Main(context.Background(), args, os.Stdin, os.Stdout, os.Stdout, opts)
	fmt.Println("exit code", code)
	// Output:
	// shopctl: --schema: pgmigrate: invalid schema name: "shop-1": want a letter or underscore, then letters, digits or underscores
	// exit code 2
}
