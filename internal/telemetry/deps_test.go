package telemetry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The library uses the OpenTelemetry API only: the SDK and the exporters
// are for programs (cmd/, the examples, internal/otelsdk which only they
// import) and tests. A library package that pulled them in would make
// every user of chronicle carry them.
func TestLibrariesImportNoSDK(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .Deps " "}}`, "github.com/chronicle-go/chronicle/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	programs := []string{"/cmd/", "/examples/", "/internal/otelsdk", "/internal/telemetrytest", "/bench"}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] == "main" {
			continue
		}
		pkg := fields[0]
		program := false
		for _, p := range programs {
			program = program || strings.Contains(pkg+"/", p)
		}
		if program {
			continue
		}
		checked++
		for _, dep := range fields[2:] {
			if strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters") ||
				dep == "github.com/chronicle-go/chronicle/internal/otelsdk" {
				t.Errorf("library package %s depends on %s", pkg, dep)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d library packages checked", checked)
	}
}
