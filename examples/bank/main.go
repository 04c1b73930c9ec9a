// Command bank runs the bank of docs/bank.md on PostgreSQL: it opens three
// accounts, makes three transfers — one that goes through, one the debit
// declines (too little money), one whose credit is refused (a frozen
// account), so its debit is refunded — prints the transfers and the
// balances read model, rebuilds the read model from the log and proves it
// identical, and prints the bankctl commands that inspect what it left.
//
//	go run ./examples/bank -postgres "postgres://postgres@127.0.0.1:5432/test?sslmode=disable" -fresh
//
// It exits 0 only if every check holds (money conserved, each transfer
// ended as planned, the rebuilt read model equal to the live one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/examples/bank/banking"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/saga"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	postgres string
	schema   string
	fresh    bool
	timeout  time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("bank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.postgres, "postgres", os.Getenv("CHRONICLE_POSTGRES_URL"), "PostgreSQL URL (default $CHRONICLE_POSTGRES_URL)")
	fs.StringVar(&o.schema, "schema", "bank", "the schema holding every table of the bank")
	fs.BoolVar(&o.fresh, "fresh", false, "drop the schema, and everything in it, first")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "give up if the transfers have not ended by then")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has said why
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bank: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.postgres == "" {
		fmt.Fprintln(stderr, "bank: the bank runs on PostgreSQL: pass -postgres URL or set CHRONICLE_POSTGRES_URL "+
			"(for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		return 2
	}
	if err := pgmigrate.ValidateSchema(o.schema); err != nil {
		fmt.Fprintln(stderr, "bank: -schema:", err)
		return 2
	}
	ok, err := demo(ctx, o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "bank:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// demo runs the scenario and reports whether every check held.
func demo(ctx context.Context, o options, out io.Writer) (bool, error) {
	pool, err := banking.Connect(ctx, o.postgres, o.schema)
	if err != nil {
		return false, err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	if o.fresh {
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgmigrate.Quote(o.schema)+" CASCADE"); err != nil {
			return false, err
		}
	}
	if err := banking.Migrate(ctx, pool, o.schema); err != nil {
		return false, fmt.Errorf("migrate schema %s: %w", o.schema, err)
	}
	app, err := banking.New(pool, o.schema, nil, nil)
	if err != nil {
		return false, err
	}
	defer app.Close()
	for _, err := range app.Events.ReadAll(ctx, eventstore.ReadAllOptions{Limit: 1}) {
		if err != nil {
			return false, err
		}
		return false, fmt.Errorf("schema %s already holds a bank: add -fresh to start over, or pick another -schema", o.schema)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()

	// The customers' commands. Deterministic IDs make each safe to send
	// again: the bus's idempotency applies it once.
	send := func(name string, payload any) error {
		_, err := app.Bus.Send(ctx, command.Command{ID: command.DeriveID("bank-demo", name), Payload: payload})
		return err
	}
	for _, c := range []struct {
		name    string
		payload any
	}{
		{"open a", banking.OpenAccount{Account: "a", Owner: "Ann"}},
		{"open b", banking.OpenAccount{Account: "b", Owner: "Bob"}},
		{"open c", banking.OpenAccount{Account: "c", Owner: "Cy"}},
		{"deposit a", banking.Deposit{Account: "a", Amount: 100_00}},
		{"deposit b", banking.Deposit{Account: "b", Amount: 20_00}},
		{"freeze c", banking.FreezeAccount{Account: "c", Reason: "court order"}},
		{"t1", banking.RequestTransfer{Transfer: "t1", From: "a", To: "b", Amount: 30_00}},
		{"t2", banking.RequestTransfer{Transfer: "t2", From: "b", To: "a", Amount: 500_00}},
		{"t3", banking.RequestTransfer{Transfer: "t3", From: "a", To: "c", Amount: 20_00}},
	} {
		if err := send(c.name, c.payload); err != nil {
			return false, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	// The bus refuses what it can tell is wrong, before any event.
	err = send("t4", banking.RequestTransfer{Transfer: "t4", From: "a", To: "a", Amount: 1_00})
	if !command.IsRefused(err) {
		return false, fmt.Errorf("a transfer to the same account: %v, want a refusal", err)
	}
	fmt.Fprintf(out, "refused at once: transfer t4 from a to a (%v)\n", err)

	if err := settle(ctx, app, o.timeout); err != nil {
		return false, err
	}
	ok := true
	check := func(cond bool, format string, args ...any) {
		if !cond {
			ok = false
			fmt.Fprintf(out, "CHECK FAILED: "+format+"\n", args...)
		}
	}

	fmt.Fprintln(out, "\ntransfers (the transfer saga's instances):")
	instances, err := app.Transfers.Instances(ctx, saga.Query{})
	if err != nil {
		return false, err
	}
	want := map[string]string{
		"t1": "completed",
		"t2": "compensated: insufficient funds",
		"t3": "compensated: CreditAccount refused: account c: account is frozen",
	}
	for _, in := range instances {
		got := string(in.Status)
		if in.Reason != "" {
			got += ": " + in.Reason
		}
		fmt.Fprintf(out, "  %s  %s\n", in.ID, got)
		check(got == want[in.ID], "transfer %s ended %q, want %q", in.ID, got, want[in.ID])
	}
	check(len(instances) == len(want), "%d transfers, want %d", len(instances), len(want))

	fmt.Fprintln(out, "\nbalances (the read model, table balances):")
	balances, err := readBalances(ctx, pool)
	if err != nil {
		return false, err
	}
	var total int64
	for _, b := range balances {
		fmt.Fprintf(out, "  %s\n", b)
		total += b.balance
	}
	wantBalances := []balance{{"a", "Ann", 70_00, false}, {"b", "Bob", 50_00, false}, {"c", "Cy", 0, true}}
	check(slices.Equal(balances, wantBalances), "balances %v, want %v", balances, wantBalances)
	check(total == 120_00, "the balances sum to %s, want the deposits' 120.00", cents(total))
	if total == 120_00 {
		fmt.Fprintln(out, "  money conserved: the balances sum to the deposits, 120.00")
	}

	// Rebuild the read model from the log, while the application runs.
	before, err := projpg.Checksum(ctx, pool, "balances")
	if err != nil {
		return false, err
	}
	var last projection.Progress
	if err := app.Projections.Rebuild(ctx, "balances", projection.RebuildOptions{
		Progress: func(p projection.Progress) { last = p },
	}); err != nil {
		return false, fmt.Errorf("rebuild balances: %w", err)
	}
	after, err := projpg.Checksum(ctx, pool, "balances")
	if err != nil {
		return false, err
	}
	same := "identical to the live one"
	if before != after {
		same = "DIFFERENT from the live one"
	}
	fmt.Fprintf(out, "\nrebuilt balances from the log (%d events): %s (checksum %s)\n", last.Events, same, after)
	check(before == after, "the rebuilt read model differs: checksum %s, live %s", after, before)

	ctl := "go run ./examples/bank/bankctl --postgres " + shellURL(o.postgres) + " --schema " + o.schema
	fmt.Fprintf(out, "\ninspect it with the bank's CLI%s:\n", passwordNote(o.postgres))
	for _, c := range Inspect {
		fmt.Fprintf(out, "  %s %s\n", ctl, c)
	}
	fmt.Fprintf(out, "or with the generic one: go run ./cmd/chronicle --postgres %s --schema %s streams read account-a\n",
		shellURL(o.postgres), o.schema)
	return ok, nil
}

// Inspect are the bankctl commands the demo prints.
var Inspect = []string{
	"sagas list transfer",
	"sagas show transfer t3",
	"projections status balances",
	"projections rebuild balances",
}

// settle waits until the three transfers have ended and the read model
// has applied every event.
func settle(ctx context.Context, app *banking.App, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		counts, err := app.Transfers.Count(ctx)
		if err != nil {
			return err
		}
		caughtUp := false
		if counts[saga.Completed]+counts[saga.Compensated] == 3 {
			all, err := app.Projections.Status(ctx)
			if err != nil {
				return err
			}
			caughtUp = len(all) == 1 && all[0].Owned && all[0].LagEvents == 0
		}
		if caughtUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the transfers did not settle within %v (sagas %v)", timeout, counts)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type balance struct {
	id, owner string
	balance   int64
	frozen    bool
}

func (b balance) String() string {
	s := fmt.Sprintf("%s  %-4s %6s", b.id, b.owner, cents(b.balance))
	if b.frozen {
		s += "  frozen"
	}
	return s
}

func cents(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

func readBalances(ctx context.Context, pool *pgxpool.Pool) ([]balance, error) {
	rows, err := pool.Query(ctx, `SELECT id, owner, balance, frozen FROM balances ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []balance
	for rows.Next() {
		var b balance
		if err := rows.Scan(&b.id, &b.owner, &b.balance, &b.frozen); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// shellURL quotes the URL for a shell, its password replaced.
func shellURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "PASSWORD")
			raw = u.String()
		}
	}
	return "'" + strings.ReplaceAll(raw, "'", `'\''`) + "'"
}

func passwordNote(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return " (put your password in place of PASSWORD)"
		}
	}
	return ""
}
