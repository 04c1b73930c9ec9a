// Command chronicle inspects and repairs a chronicle event store in
// PostgreSQL: migrations, streams, the live log, appends, projection and
// saga status, and the dump/restore repair. See docs/cli.md.
//
//	chronicle --postgres postgres://localhost/app migrate
//	chronicle streams read order-1
//	chronicle tail --prefix order- --type OrderPlaced
//
// The commands live in package [github.com/chronicle-go/chronicle/cli], so
// an application can embed them in its own binary with its projections and
// sagas registered.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chronicle-go/chronicle/cli"
)

func main() {
	// The first SIGINT or SIGTERM cancels the command (tail ends with exit
	// code 0, others with 130); a second one kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Options{Telemetry: telemetry})
	stop()
	os.Exit(code)
}
