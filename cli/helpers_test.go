package cli_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads (tail).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what one run of cli.Main produced.
type result struct {
	code           int
	stdout, stderr string
}

// env is a test's database: the server URL and a fresh schema.
type env struct {
	t      *testing.T
	url    string
	schema string
	opts   cli.Options
}

// newEnv gives the test a fresh, empty schema (dropped at the end).
func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, url: pgtest.URL(), schema: pgtest.Schema(t)}
}

// migrated gives the test a fresh schema with every migration applied by
// the CLI itself.
func migrated(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.ok("", "migrate")
	return e
}

// run runs cli.Main with --postgres and --schema set, stdin as input.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return e.runCtx(ctx, stdin, args...)
}

func (e *env) runCtx(ctx context.Context, stdin string, args ...string) result {
	var out, errOut syncBuffer
	full := append([]string{"--postgres", e.url, "--schema", e.schema}, args...)
	code := cli.Main(ctx, full, strings.NewReader(stdin), &out, &errOut, e.opts)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// ok runs a command that must succeed and returns its stdout.
func (e *env) ok(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != cli.ExitOK {
		e.t.Fatalf("chronicle %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with code and returns its stderr.
func (e *env) fails(code int, stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != code {
		e.t.Fatalf("chronicle %s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r.stderr
}

var (
	reTime   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	rePos    = regexp.MustCompile(`\b\d+/\d+\b`)
	reUUID   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reSpaces = regexp.MustCompile(`(\S)  +`)
)

// normalise replaces what changes from run to run (times, positions, the
// schema name, generated IDs) with placeholders and collapses column
// padding, whose width follows the replaced values.
func (e *env) normalise(s string, keepIDs ...string) string {
	s = strings.ReplaceAll(s, e.schema, "<SCHEMA>")
	s = reTime.ReplaceAllString(s, "<TIME>")
	s = rePos.ReplaceAllString(s, "<POS>")
	s = reUUID.ReplaceAllStringFunc(s, func(id string) string {
		for _, k := range keepIDs {
			if id == k {
				return id
			}
		}
		return "<UUID>"
	})
	return reSpaces.ReplaceAllString(s, "$1  ")
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}

// waitFor polls cond until it holds or the test's patience (30s) ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ io.Writer = (*syncBuffer)(nil)
