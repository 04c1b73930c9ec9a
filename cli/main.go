package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// command is one sub-command of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

// commands lists the sub-commands in the order usage shows them.
var commands = []command{
	{"migrate", "apply every component's migrations; `migrate status` lists them", runMigrate},
	{"status", "the event store's schema, head, horizon and epoch", runStatus},
	{"reanchor", "repair transaction ids after a dump and restore", runReanchor},
	{"streams", "`streams list` streams with versions; `streams read STREAM` one stream's events", runStreams},
	{"tail", "follow the global log live", runTail},
	{"append", "append events read as JSON from stdin: append STREAM --expected V", runAppend},
	{"projections", "list, status, rebuild, skip, retry", runProjections},
	{"sagas", "`sagas list [SAGA]` instances by status; `sagas show SAGA ID` one instance's history; `sagas parked|failing SAGA`", runSagas},
	{"relay", "`relay status [NAME]` checkpoints, lag, owner, parked; `relay parked NAME`; `relay retry|skip NAME (ID | --all)`", runRelay},
	{"inbox", "`inbox status` processed, failing and parked per consumer; `inbox parked [CONSUMER]`", runInbox},
	{"console", "serve the web console: console [--addr 127.0.0.1:8080]; admin token from $" + EnvConsoleToken, runConsole},
}

// app is one run of Main.
type app struct {
	opts   Options
	g      globals
	stdin  io.Reader
	stdout *bufio.Writer // flushed when the command ends, and by tail after each event
	stderr io.Writer
	env    *Env

	stopTelemetry func() // set once Options.Telemetry ran
}

// Main runs the chronicle command line: args are the arguments after the
// program name (os.Args[1:]); input comes from stdin (for append), output
// goes to stdout, errors and progress to stderr. It returns the process's
// exit code (see [ExitOK] and the constants after it) and never calls
// os.Exit. Cancelling ctx stops the command; `tail` then ends with
// [ExitOK].
//
// The generic binary, cmd/chronicle, calls Main with zero [Options]. An
// application embeds the same commands in its own binary by passing
// [Options.Projections] and [Options.Sagas], so that `projections rebuild`
// runs its projections' code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, opts Options) int {
	opts = opts.withDefaults()
	out := bufio.NewWriterSize(stdout, 64<<10)
	a := &app{opts: opts, g: globals{schema: pgmigrate.DefaultSchema, prog: opts.Name}, stdin: stdin, stdout: out, stderr: stderr}
	err := a.run(ctx, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		err = a.explain(ctx, err) // may look at the database: before it closes
	}
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing the output: %w", ferr)
	}
	if a.env != nil {
		a.env.close()
	}
	if a.stopTelemetry != nil {
		a.stopTelemetry()
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	switch {
	case code == ExitInterrupted && ctx.Err() != nil:
		err = fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case code == ExitInterrupted:
		code = ExitError // a time-out inside the command, not the caller stopping it
	}
	a.printError(err, code)
	return code
}

func (a *app) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(a.opts.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(a.stdout)
			return err
		}
		return usagef("%v (see `%s help`)", err, a.opts.Name)
	}
	if fs.NArg() == 0 {
		a.usage(a.stderr)
		return usagef("no command given")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		a.usage(a.stdout)
		return nil
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return usagef("unknown command %q (see `%s help`)", name, a.opts.Name)
	}
	return commands[i].run(ctx, a, rest)
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [--postgres URL] [--schema NAME] [--json] COMMAND [ARGS]\n\n", a.opts.Name)
	fmt.Fprintf(w, "Inspect and repair a chronicle event store in PostgreSQL.\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nFlags (before or after the command):\n")
	fmt.Fprintf(w, "  --postgres URL  connection URL; default $%s\n", EnvPostgresURL)
	fmt.Fprintf(w, "  --schema NAME   schema of chronicle's tables; default %q\n", pgmigrate.DefaultSchema)
	fmt.Fprintf(w, "  --json          JSON output for scripts\n")
	if a.opts.Telemetry != nil {
		fmt.Fprintf(w, "  --metrics-addr ADDR  serve the metrics for Prometheus at http://ADDR/metrics; OTEL_* variables send traces and metrics over OTLP\n")
	}
	fmt.Fprintf(w, "\nExit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 schema not migrated,\n")
	fmt.Fprintf(w, "5 conflict, 6 server unreachable, 130 interrupted. Run `%s COMMAND -h` for a command's flags.\n", a.opts.Name)
}

// printError writes err to stderr: a line of text, or with --json a JSON
// object {"error": ..., "code": ...}.
func (a *app) printError(err error, code int) {
	if a.g.json {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}{err.Error(), code})
		fmt.Fprintf(a.stderr, "%s\n", b)
		return
	}
	fmt.Fprintf(a.stderr, "%s: %v\n", a.opts.Name, err)
}

// subcommand splits "streams list ..." into the sub-command and the rest.
func (a *app) subcommand(group string, args []string, names ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usagef("usage: %s %s %s", a.opts.Name, group, strings.Join(names, "|"))
	}
	if !slices.Contains(names, args[0]) {
		return "", nil, usagef("unknown command %q: want %s %s %s", group+" "+args[0], a.opts.Name, group, strings.Join(names, "|"))
	}
	return args[0], args[1:], nil
}
