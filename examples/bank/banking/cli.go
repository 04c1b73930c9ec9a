package banking

import (
	"context"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/saga"
)

// CLI is the bank's options for cli.Main: its migrations, and its
// projection runner and saga engine built on the connection the command
// opened (whose search_path starts with --schema, as the bank's own pool
// does).
func CLI() cli.Options {
	build := func(env *cli.Env) (*App, error) { return New(env.Pool, env.Schema, env.Events, env.Logger) }
	return cli.Options{
		Name:       "bankctl",
		Migrations: []pgmigrate.Set{Migrations},
		Projections: func(ctx context.Context, env *cli.Env) (cli.ProjectionRunner, error) {
			app, err := build(env)
			if err != nil {
				return nil, err
			}
			return app.Projections, nil
		},
		Sagas: func(ctx context.Context, env *cli.Env) ([]*saga.Engine, error) {
			app, err := build(env)
			if err != nil {
				return nil, err
			}
			return []*saga.Engine{app.Transfers}, nil
		},
	}
}
