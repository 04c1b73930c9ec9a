package pgtest

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// outcome is a testing.TB that records how a test ended instead of ending
// it.
type outcome struct {
	testing.TB
	fatal, skip string
}

func (o *outcome) Helper()               {}
func (o *outcome) Fatal(args ...any)     { o.fatal = args[0].(string) }
func (o *outcome) Skip(args ...any)      { o.skip = args[0].(string) }
func (o *outcome) Errorf(string, ...any) { panic("unexpected Errorf") }

// Without a server, the first test of the binary fails with the fix in one
// line, the others skip pointing at it; under CI=true every one fails,
// and the opt-out is refused.
func TestUnreachable(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused\nmore detail")
	var reported atomic.Bool
	first, second := &outcome{TB: t}, &outcome{TB: t}
	unreachable(first, refused, "", false, &reported)
	unreachable(second, refused, "", false, &reported)
	if first.skip != "" || !strings.Contains(first.fatal, "connection refused)") || strings.Contains(first.fatal, "\n") ||
		!strings.Contains(first.fatal, "CHRONICLE_TEST_POSTGRES=skip to skip these tests") ||
		!strings.Contains(first.fatal, "CHRONICLE_TEST_POSTGRES is unset") {
		t.Errorf("first test: fatal %q skip %q", first.fatal, first.skip)
	}
	if second.fatal != "" || !strings.Contains(second.skip, "see the failure above") {
		t.Errorf("second test: fatal %q skip %q", second.fatal, second.skip)
	}
	for _, env := range []string{"", "postgres://x@db/test", Skip} {
		var reported atomic.Bool
		for range 2 {
			o := &outcome{TB: t}
			unreachable(o, refused, env, true, &reported)
			if o.fatal == "" || o.skip != "" {
				t.Errorf("CI=true, %s=%q: fatal %q skip %q", EnvURL, env, o.fatal, o.skip)
			}
		}
	}
}
