package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/pgtest"
)

// runBare runs cli.Main with exactly args (no --postgres or --schema added).
func runBare(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut, cli.Options{})
	return result{code, out.String(), errOut.String()}
}

func TestUsageErrors(t *testing.T) {
	url := pgtest.URL()
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no command":         {nil, "no command given"},
		"unknown command":    {[]string{"--postgres", url, "frobnicate"}, `unknown command "frobnicate"`},
		"unknown sub":        {[]string{"--postgres", url, "streams", "delete"}, `unknown command "streams delete"`},
		"missing sub":        {[]string{"--postgres", url, "projections"}, "usage: chronicle projections list|status|rebuild|skip|retry"},
		"unknown flag":       {[]string{"--postgres", url, "streams", "list", "--bogus"}, "bogus"},
		"unknown top flag":   {[]string{"--bogus", "streams", "list"}, "bogus"},
		"bad schema":         {[]string{"--postgres", url, "--schema", `x"; DROP TABLE y; --`, "streams", "list"}, "invalid schema name"},
		"bad schema after":   {[]string{"--postgres", url, "streams", "list", "--schema", "1abc"}, "invalid schema name"},
		"bad URL":            {[]string{"--postgres", "postgres://%zz", "streams", "list"}, "invalid PostgreSQL URL"},
		"bad port":           {[]string{"--postgres", "postgres://u:s3cret@host:port/db", "streams", "list"}, "postgres://u:xxxxx@host:port/db"},
		"bad limit":          {[]string{"--postgres", url, "streams", "list", "--limit", "-1"}, "--limit"},
		"extra argument":     {[]string{"--postgres", url, "status", "now"}, "takes no arguments"},
		"bad tail position":  {[]string{"--postgres", url, "tail", "--from", "yesterday"}, "--from"},
		"bad saga status":    {[]string{"--postgres", url, "sagas", "list", "s", "--status", "sleeping"}, "--status"},
		"generic rebuild":    {[]string{"--postgres", url, "projections", "rebuild", "orders"}, "needs the projection's code"},
		"generic saga names": {[]string{"--postgres", url, "--schema", "t_never_created_here", "sagas", "show", "s"}, "usage: chronicle sagas show SAGA ID"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runBare(t, c.args...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "s3cret") {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, cli.ExitUsage, c.want)
			}
			if n := strings.Count(r.stderr, c.want); n != 1 && name != "no command" {
				t.Errorf("the error is reported %d times: %q", n, r.stderr)
			}
		})
	}
}

func TestNoDatabaseConfigured(t *testing.T) {
	t.Setenv(cli.EnvPostgresURL, "")
	r := runBare(t, "streams", "list")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--postgres") || !strings.Contains(r.stderr, cli.EnvPostgresURL) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestURLFromEnvironment(t *testing.T) {
	e := migrated(t)
	t.Setenv(cli.EnvPostgresURL, e.url)
	r := runBare(t, "--schema", e.schema, "streams", "list", "--json")
	if r.code != cli.ExitOK || r.stdout != "[]\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// --postgres wins over the environment.
	t.Setenv(cli.EnvPostgresURL, "postgres://postgres@127.0.0.1:1/test")
	r = runBare(t, "--postgres", e.url, "--schema", e.schema, "streams", "list")
	if r.code != cli.ExitOK {
		t.Errorf("--postgres did not override the environment: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback refuses connections at once.
	r := runBare(t, "--postgres", "postgres://postgres@127.0.0.1:1/test?sslmode=disable", "streams", "list")
	if r.code != cli.ExitUnreachable {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, cli.ExitUnreachable, r.stderr)
	}
	for _, want := range []string{"cannot connect to PostgreSQL at postgres@127.0.0.1:1/test", "connection refused", "CHRONICLE_POSTGRES_URL"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q should contain %q", r.stderr, want)
		}
	}
	// A password in the URL never appears in the message.
	r = runBare(t, "--postgres", "postgres://postgres:s3cret@127.0.0.1:1/test?sslmode=disable", "status")
	if r.code != cli.ExitUnreachable || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnmigratedSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, args := range [][]string{
		{"streams", "list"},
		{"streams", "read", "order-1"},
		{"status"},
		{"reanchor"},
		{"tail"},
		{"projections", "list"},
		{"projections", "status"},
		{"sagas", "list", "fulfilment"},
		{"sagas", "list"},
	} {
		msg := e.fails(cli.ExitNotMigrated, "", args...)
		if !strings.Contains(msg, "is not migrated") || !strings.Contains(msg, "run `chronicle migrate --schema "+e.schema+"`") {
			t.Errorf("%v: stderr %q should say to run migrate", args, msg)
		}
	}
	msg := e.fails(cli.ExitNotMigrated, `{"type": "A"}`, "append", "s", "--expected", "any")
	if !strings.Contains(msg, "eventstore") {
		t.Errorf("append: stderr %q should name the component", msg)
	}
	// A schema that does not exist at all is just as unmigrated.
	missing := &env{t: t, url: e.url, schema: "t_no_such_schema_" + strings.ToLower(e.schema[len(e.schema)-12:])}
	missing.fails(cli.ExitNotMigrated, "", "streams", "list")
	missing.fails(cli.ExitNotMigrated, "", "projections", "list")
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runBare(t, "help")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "Commands:") || !strings.Contains(r.stdout, "tail") {
		t.Errorf("help: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runBare(t, "streams", "list", "-h")
	if r.code != cli.ExitOK || !strings.Contains(r.stderr, "Usage: chronicle streams list [flags]") ||
		!strings.Contains(r.stderr, "\n  --prefix string") || !strings.Contains(r.stderr, "Global flags: --postgres URL") {
		t.Errorf("streams list -h: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runBare(t, "streams", "list", "--bogus")
	if r.code != cli.ExitUsage || r.stderr != "chronicle: flag provided but not defined: -bogus (see `chronicle streams list -h`)\n" {
		t.Errorf("streams list --bogus: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGINT before the command got anywhere
	r := e.runCtx(ctx, "", "streams", "list")
	if r.code != cli.ExitInterrupted || !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("exit %d, stderr %q; want %d", r.code, r.stderr, cli.ExitInterrupted)
	}
}
