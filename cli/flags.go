package cli

import (
	"errors"
	"flag"
	"io"
	"strings"
)

// EnvPostgresURL is the environment variable read when --postgres is not
// given.
const EnvPostgresURL = "CHRONICLE_POSTGRES_URL"

// DefaultSchema is the schema used when --schema is not given.
const DefaultSchema = "chronicle"

// globals are the flags every command accepts, before or after its name.
type globals struct {
	postgres string
	schema   string
	json     bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.postgres, "postgres", g.postgres, "PostgreSQL connection URL (default $"+EnvPostgresURL+")")
	fs.StringVar(&g.schema, "schema", g.schema, "schema holding chronicle's tables")
	fs.BoolVar(&g.json, "json", g.json, "print JSON for scripts instead of tables")
}

// newFlagSet returns a flag set for a command that reports errors to the
// caller instead of exiting, with the global flags registered.
func newFlagSet(name string, g *globals, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	return fs
}

// parse parses args with fs, allowing flags after positional arguments
// ("streams read order-1 --limit 5"); "--" ends the flags. It returns the
// positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
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
