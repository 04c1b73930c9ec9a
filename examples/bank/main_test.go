package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/examples/bank/banking"
	"github.com/chronicle-go/chronicle/pgtest"
)

// The demo on PostgreSQL: every check holds, and the bankctl commands it
// prints work on what it left.
func TestDemo(t *testing.T) {
	url, schema := pgtest.URL(), pgtest.Schema(t)
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"-postgres", url, "-schema", schema, "-fresh"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"refused at once: transfer t4 from a to a",
		"  t1  completed\n",
		"  t2  compensated: insufficient funds\n",
		"  t3  compensated: CreditAccount refused: account c: account is frozen\n",
		"  a  Ann   70.00\n  b  Bob   50.00\n  c  Cy     0.00  frozen\n",
		"money conserved",
		"rebuilt balances from the log (10 events): identical to the live one",
		"go run ./examples/bank/bankctl --postgres '" + url + "' --schema " + schema + " sagas show transfer t3\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "CHECK FAILED") || errOut.Len() > 0 {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}

	// The printed commands, through the same cli.Main bankctl calls.
	expect := map[string]string{
		"sagas list transfer":          "t3  compensated",
		"sagas show transfer t3":       "refused",
		"projections status balances":  "lag              0 events",
		"projections rebuild balances": "rebuilt balances: 10 events",
	}
	for _, c := range Inspect {
		var out, errOut bytes.Buffer
		args := append([]string{"--postgres", url, "--schema", schema}, strings.Fields(c)...)
		if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut, banking.CLI()); code != cli.ExitOK {
			t.Errorf("bankctl %s: exit %d, stderr %s", c, code, errOut.String())
		}
		if !strings.Contains(out.String(), expect[c]) {
			t.Errorf("bankctl %s: output lacks %q:\n%s", c, expect[c], out.String())
		}
	}
	out.Reset()
	args := []string{"--postgres", url, "--schema", schema, "streams", "read", "account-a"}
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut, cli.Options{}); code != cli.ExitOK ||
		!strings.Contains(out.String(), "DebitRefunded") {
		t.Errorf("chronicle streams read account-a: exit %d\n%s", code, out.String())
	}

	// Run again on the same schema: refused, nothing touched.
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"-postgres", url, "-schema", schema}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "already holds a bank: add -fresh") {
		t.Errorf("second run: exit %d, stderr %q", code, errOut.String())
	}
}

func TestUsage(t *testing.T) {
	t.Setenv("CHRONICLE_POSTGRES_URL", "")
	var out, errOut bytes.Buffer
	if code := run(t.Context(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "pass -postgres URL or set CHRONICLE_POSTGRES_URL") {
		t.Errorf("no URL: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"-postgres", "x", "-schema", "1bad"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-schema") {
		t.Errorf("bad schema: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"-h"}, &out, &errOut); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
