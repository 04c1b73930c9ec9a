// Command bankctl is the bank's operator CLI: chronicle's commands
// (migrate, streams, tail, projections, sagas, …) embedded with the bank's
// projections, sagas and migrations, so that `projections rebuild
// balances` runs the bank's own code and `migrate` creates the bank's
// tables beside chronicle's.
//
//	go run ./examples/bank/bankctl --postgres "$URL" --schema bank migrate
//	go run ./examples/bank/bankctl --postgres "$URL" --schema bank sagas list transfer
//	go run ./examples/bank/bankctl --postgres "$URL" --schema bank projections rebuild balances
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/examples/bank/banking"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, banking.CLI())
	stop()
	os.Exit(code)
}
