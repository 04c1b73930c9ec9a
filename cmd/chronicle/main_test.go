package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/pgtest"
)

// The test binary doubles as the chronicle binary: run with
// CHRONICLE_CLI_AS_MAIN=1 it is main itself, so these tests see the real
// process: its exit codes and its signal handling.
func TestMain(m *testing.M) {
	if os.Getenv("CHRONICLE_CLI_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func command(schema string, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	cmd := exec.Command(os.Args[0], append([]string{"--schema", schema}, args...)...)
	cmd.Env = append(os.Environ(), "CHRONICLE_CLI_AS_MAIN=1", cli.EnvPostgresURL+"="+pgtest.URL())
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	return cmd, &out, &errOut
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

func TestExitCodes(t *testing.T) {
	schema := pgtest.Schema(t)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"frobnicate"}, cli.ExitUsage},
		{[]string{"streams", "list"}, cli.ExitNotMigrated},
		{[]string{"migrate"}, cli.ExitOK},
		{[]string{"streams", "read", "nope"}, cli.ExitNotFound},
	} {
		cmd, _, errOut := command(schema, c.args...)
		if got := exitCode(t, cmd.Run()); got != c.code {
			t.Errorf("chronicle %s: exit %d, want %d; stderr %q", strings.Join(c.args, " "), got, c.code, errOut.String())
		}
	}
}

func TestTailStopsOnSIGINT(t *testing.T) {
	schema := pgtest.Schema(t)
	if cmd, _, errOut := command(schema, "migrate"); cmd.Run() != nil {
		t.Fatalf("migrate: %s", errOut.String())
	}
	cmd, _, errOut := command(schema, "tail")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), "following the log") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("tail did not start: %q", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(t, err); code != cli.ExitOK {
			t.Errorf("tail after SIGINT: exit %d, stderr %q", code, errOut.String())
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("tail did not stop on SIGINT")
	}
}
