// Package cli holds the commands of the chronicle command-line tool, so that
// an application can embed them in its own binary. cmd/chronicle is the
// generic binary: a thin main around [Main].
//
// # Commands
//
//	migrate [--components LIST]      apply every component's migrations
//	migrate status [--check]         list migrations, applied or pending
//	status                           the store's head, horizon, epoch, migrations
//	reanchor                         repair transaction ids after a dump and restore
//	streams list [--prefix P]        streams with their versions
//	streams read STREAM              one stream's events, pretty JSON (--from, --limit, --backwards)
//	tail [--prefix P] [--type T]     follow the global log live, until interrupted
//	append STREAM --expected V       append the events read as JSON from stdin
//	projections list|status [NAME]   checkpoints, states, lag and failures
//	projections skip|retry NAME      move a stopped projection past its failed event, or retry it
//	projections rebuild NAME         reset and replay, with progress (embedded binaries only)
//	sagas list [SAGA] [--status S]   instances by status
//	sagas show SAGA ID               one instance's state, history, commands, deadlines
//	sagas parked|failing SAGA        events its handlers kept failing on; commands whose sends fail
//	relay status [NAME]              relays' checkpoints, lag, owner, published and parked counts
//	relay parked NAME                messages the broker refused for good
//	relay retry|skip NAME ID|--all   publish a parked message again (by the owner), or forget it
//	inbox status                     processed, failing and parked messages per consumer
//	inbox parked [CONSUMER]          messages an inbox gave up on
//	console [--addr 127.0.0.1:8080]  serve the web console until interrupted (docs/console.md)
//
// Every command takes --postgres URL (default $CHRONICLE_POSTGRES_URL),
// --schema NAME (default "chronicle", validated before anything is sent to
// the server) and --json, before or after the command's name. Tables are
// the default output; --json prints one JSON document (lists are arrays),
// except for events (streams read, tail), which are JSON Lines. Errors go to
// stderr, as a JSON object {"error", "code"} with --json. docs/cli.md
// describes every command and output.
//
// # Exit codes
//
// [ExitOK], [ExitError], [ExitUsage], [ExitNotFound], [ExitNotMigrated],
// [ExitConflict], [ExitUnreachable] and [ExitInterrupted] are stable: scripts
// can rely on them.
//
// # Embedding
//
// Projections and sagas are code. The generic binary reads their status
// from the database (the checkpoint and saga tables) and can skip or retry a
// projection's failed event, but it cannot rebuild a projection: that needs
// the projection's handlers. An application registers its own in
// [Options] and calls [Main] from its main function:
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//		defer stop()
//		os.Exit(cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{
//			Name: "shopctl",
//			Projections: func(ctx context.Context, env *cli.Env) (cli.ProjectionRunner, error) {
//				cps, err := projpg.New(env.Pool, projpg.Config{Schema: env.Schema})
//				if err != nil {
//					return nil, err
//				}
//				return projection.NewRunner(env.Events, cps, projection.Config{}, orderSummary(), revenue())
//			},
//			Sagas: func(ctx context.Context, env *cli.Env) ([]*saga.Engine, error) {
//				...
//			},
//		}))
//	}
//
// The factories run only for the commands that need them, on the
// connection Main opened ([Env]).
//
// # PostgreSQL
//
// The CLI is a PostgreSQL tool: it opens a pgx pool itself, which makes
// this package, with the */postgres packages, one of the few that import
// pgx.
package cli
