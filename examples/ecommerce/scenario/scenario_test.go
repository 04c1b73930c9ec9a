package scenario_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/examples/ecommerce/fulfilment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
)

// testRates fail about a third of the orders, so every compensation path
// runs many times.
var testRates = scenario.Rates{OutOfStock: 0.08, PaymentDeclined: 0.08, DeadlineExpired: 0.06, ShipmentFailed: 0.08}

// runScenario runs n orders on b and asserts every invariant of the report,
// and that each failure kind happened as often as the plan says.
func runScenario(t *testing.T, b scenario.Backend, n int, seed uint64) *scenario.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rates := testRates
	rep, err := scenario.Run(ctx, b, scenario.Config{Orders: n, Seed: seed, Rates: &rates, PaymentDeadline: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var sb strings.Builder
		rep.Print(&sb, true)
		t.Fatalf("invariants violated:\n%s", sb.String())
	}
	plan := scenario.NewPlan(n, seed, rates)
	want := map[string]int{}
	for _, o := range plan.Orders {
		want[string(o.Fate)]++
	}
	for _, k := range fulfilment.Reasons {
		if want[k] == 0 {
			t.Errorf("the plan holds no %s order: the test does not cover it", k)
		}
		if rep.Compensations[k] != want[k] {
			t.Errorf("%d compensations %s, want %d", rep.Compensations[k], k, want[k])
		}
	}
	if got := rep.ByState["completed"]; got != want[string(scenario.FateCompleted)] {
		t.Errorf("%d orders completed, want %d", got, want[string(scenario.FateCompleted)])
	}
	if got := rep.ByState["completed"] + rep.ByState["cancelled"]; got != n {
		t.Errorf("%d orders ended, want %d (by state: %v)", got, n, rep.ByState)
	}
	if len(rep.Snapshot.Orders) != n || rep.Money.Revenue <= 0 || rep.Stock.Released == 0 {
		t.Errorf("implausible report: %d order summaries, revenue %d, released %d", len(rep.Snapshot.Orders), rep.Money.Revenue, rep.Stock.Released)
	}
	return rep
}

func TestScenarioMemory(t *testing.T) {
	runScenario(t, scenario.MemoryBackend(), 500, 7)
}

// The same seed gives the same read models, whatever the interleaving of
// the run: outcomes come from the services' rules, not from timing.
func TestScenarioIsDeterministic(t *testing.T) {
	a := runScenario(t, scenario.MemoryBackend(), 60, 11)
	b := runScenario(t, scenario.MemoryBackend(), 60, 11)
	ca, cb := a.Snapshot.Checksums(), b.Snapshot.Checksums()
	for _, table := range readmodel.Tables {
		if ca[table] != cb[table] {
			t.Errorf("%s: checksum %s then %s", table, ca[table], cb[table])
		}
	}
}

// The replay mode rebuilds every read model from the log: the rebuilt
// tables and in-memory tables built from scratch have the live checksums.
func TestReplayMemory(t *testing.T) {
	rates := testRates
	rep, err := scenario.Run(context.Background(), scenario.MemoryBackend(), scenario.Config{Orders: 80, Seed: 5, Rates: &rates, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replay == nil || !rep.Replay.OK() || !rep.OK() {
		t.Fatalf("replay: %+v", rep.Replay)
	}
	if rep.Replay.Events == 0 {
		t.Error("the rebuild replayed no events")
	}
	if got, want := rep.Replay.Live, rep.Snapshot.Checksums(); got[readmodel.Tables[1]] != want[readmodel.Tables[1]] {
		t.Errorf("stock checksum %s after the run, %s at replay", want[readmodel.Tables[1]], got[readmodel.Tables[1]])
	}
}
