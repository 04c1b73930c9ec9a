package main

import (
	"bytes"
	"strings"
	"testing"
)

// The command CI runs: the default run exits 0 with every invariant
// holding, and prints the report's sections.
func TestDefaultRun(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-orders", "60", "-seed", "3", "-replay"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"orders by final state", "compensations by kind", "stock conservation",
		"money: charged − refunded = revenue", "throughput:", "the rebuilt read models are identical", "every invariant holds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if errs.Len() > 0 {
		t.Errorf("stderr is not a terminal, yet got %q", errs.String())
	}
}

// Bad flags are refused with exit code 2 and a message.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-orders", "0"},
		{"-declined", "1.5"},
		{"-declined", "0.6", "-undeliverable", "0.6"},
		{"-role", "client"},
		{"-role", "warehouse", "-postgres", "postgres://x"},
		{"stray"},
	} {
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != 2 || errs.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errs.String())
		}
	}
}
