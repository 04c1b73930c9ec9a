package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// EnvPostgresURL is the environment variable read when --postgres is not
// given.
const EnvPostgresURL = "CHRONICLE_POSTGRES_URL"

// globals are the flags every command accepts, before or after its name.
type globals struct {
	postgres string
	schema   string
	json     bool
	metrics  string // --metrics-addr
	prog     string // the program's name, for messages
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.postgres, "postgres", g.postgres, "PostgreSQL connection URL (default $"+EnvPostgresURL+")")
	fs.StringVar(&g.schema, "schema", g.schema, "schema holding chronicle's tables")
	fs.BoolVar(&g.json, "json", g.json, "print JSON for scripts instead of tables")
	fs.StringVar(&g.metrics, "metrics-addr", g.metrics, "serve the metrics for Prometheus at http://ADDR/metrics while the command runs (needs Options.Telemetry, which chronicle's binary sets)")
}

// flagSet is a command's flags, with where its help goes.
type flagSet struct {
	*flag.FlagSet
	cmd  string // "streams list"
	prog string // "chronicle"
	help io.Writer
}

// newFlagSet returns a flag set for a command with the global flags
// registered. It prints nothing itself: a wrong flag becomes one usage
// error, reported once by Main; -h or --help prints the command's flags,
// written --flag as in the docs, to help.
func newFlagSet(name string, g *globals, help io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	g.register(fs)
	return &flagSet{FlagSet: fs, cmd: name, prog: g.prog, help: help}
}

// printHelp writes the command's own flags, then the global ones.
func (fs *flagSet) printHelp() {
	w, prog := fs.help, fs.prog
	fmt.Fprintf(w, "Usage: %s %s [flags]\n", prog, fs.cmd)
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "postgres" && f.Name != "schema" && f.Name != "json" && f.Name != "metrics-addr" {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range own {
			arg, usage := flag.UnquoteUsage(f)
			if arg != "" {
				arg = " " + arg
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, arg, usage)
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(w, "\nGlobal flags: --postgres URL, --schema NAME, --json, --metrics-addr ADDR (see `%s help`)\n", prog)
}

// parse parses args with fs, allowing flags after positional arguments
// ("streams read order-1 --limit 5"); "--" ends the flags. It returns the
// positional arguments.
func parse(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp()
				return nil, err
			}
			return nil, usagef("%v (see `%s %s -h`)", err, fs.prog, fs.cmd)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse stopped at a positional argument, or after "--".
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func (a *app) wantArgs(cmd string, args []string, min, max int, names string) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		if names == "" {
			return usagef("%s takes no arguments, got %q", cmd, strings.Join(args, " "))
		}
		return usagef("usage: %s %s %s", a.opts.Name, cmd, names)
	}
	return nil
}
