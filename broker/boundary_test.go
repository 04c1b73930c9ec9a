package broker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoBrokerClient keeps the broker clients out of the core
// packages, this contract package, the relay and the inbox: only the
// adapters import them.
func TestCoreImportsNoBrokerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := []string{"eventstore", "aggregate", "command", "projection", "saga", "broker", "broker/memory",
		"relay", "relay/postgres", "inbox", "inbox/postgres"}
	args := []string{"list", "-deps"}
	for _, p := range pkgs {
		args = append(args, "github.com/chronicle-go/chronicle/"+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/nats-io/") || strings.HasPrefix(dep, "github.com/rabbitmq/") {
			t.Errorf("a core package depends on the broker client %s", dep)
		}
	}
}
