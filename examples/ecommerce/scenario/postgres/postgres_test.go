package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"

	"github.com/chronicle-go/chronicle/examples/ecommerce/fulfilment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
	"github.com/chronicle-go/chronicle/examples/ecommerce/transport"
	"github.com/chronicle-go/chronicle/internal/brokertest"
)

// openTest opens the example's backend on a fresh schema of the test
// server, dropped when the test ends.
func openTest(t *testing.T) *Backend {
	t.Helper()
	schema := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, pgtest.URL(), Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

var rates = scenario.Rates{OutOfStock: 0.08, PaymentDeclined: 0.08, DeadlineExpired: 0.06, ShipmentFailed: 0.08}

func run(t *testing.T, b *Backend, n int, seed uint64) *scenario.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := rates
	rep, err := scenario.Run(ctx, b.Backend, scenario.Config{Orders: n, Seed: seed, Rates: &r, PaymentDeadline: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var sb strings.Builder
		rep.Print(&sb, true)
		t.Fatalf("invariants violated:\n%s", sb.String())
	}
	return rep
}

// 500 seeded orders on PostgreSQL: events, saga state, outbox, deadlines
// and read models all in the database; every invariant of the report holds,
// and each failure kind was compensated as often as the plan says.
func TestScenario(t *testing.T) {
	b := openTest(t)
	rep := run(t, b, 500, 7)
	plan := scenario.NewPlan(500, 7, rates)
	want := map[string]int{}
	for _, o := range plan.Orders {
		want[string(o.Fate)]++
	}
	for _, k := range fulfilment.Reasons {
		if want[k] == 0 || rep.Compensations[k] != want[k] {
			t.Errorf("%s: %d compensations, the plan holds %d", k, rep.Compensations[k], want[k])
		}
	}
	if rep.ByState["completed"]+rep.ByState["cancelled"] != 500 {
		t.Errorf("orders by state %v, want 500 ended", rep.ByState)
	}
	n, err := b.LogLength(context.Background())
	if err != nil || int(n) != rep.Events {
		t.Errorf("the log holds %d events (%v), the report counted %d", n, err, rep.Events)
	}
}

// Replay on a log left by an earlier run: a second backend on the same
// schema (as a later process would open it) rebuilds the read models to the
// same checksums, and a read model changed behind the projections' back is
// caught.
func TestReplayOfAnEarlierRun(t *testing.T) {
	b := openTest(t)
	rep := run(t, b, 60, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	later, err := Open(ctx, pgtest.URL(), Config{Schema: b.Schema})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	replay, err := scenario.ReplayBackend(ctx, later.Backend, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !replay.OK() {
		t.Fatalf("replay differs: %+v", replay)
	}
	if want := rep.Snapshot.Checksums(); replay.Live[readmodel.Tables[0]] != want[readmodel.Tables[0]] {
		t.Errorf("live checksum %s, the run ended with %s", replay.Live[readmodel.Tables[0]], want[readmodel.Tables[0]])
	}

	// Tamper with a read model: the live checksum no longer matches the
	// log, and the rebuild restores it.
	if _, err := b.pool.Exec(ctx, `UPDATE `+pgmigrate.Table(b.Schema, "order_summaries")+` SET tracking = 'lost' WHERE order_id = 'o-00001'`); err != nil {
		t.Fatal(err)
	}
	replay, err = scenario.ReplayBackend(ctx, later.Backend, nil)
	if err != nil {
		t.Fatal(err)
	}
	table := readmodel.Tables[0]
	if replay.OK() || replay.Live[table] == replay.Rebuilt[table] || replay.Rebuilt[table] != replay.Memory[table] {
		t.Fatalf("a tampered read model went unnoticed: %+v", replay)
	}
	if replay.Rebuilt[table] != rep.Snapshot.Checksums()[table] {
		t.Errorf("the rebuild did not restore %s", table)
	}
	// The report says which row differs, not only that a checksum does.
	if rows := replay.LiveRows[table]; len(rows) != 1 || !strings.HasPrefix(rows[0], "o-00001: ") || !strings.Contains(rows[0], `"lost"`) {
		t.Errorf("differing rows of %s: %q", table, rows)
	}
	var out strings.Builder
	replay.Print(&out, false)
	if !strings.Contains(out.String(), "live | rebuilt       o-00001: ") {
		t.Errorf("the report does not show the differing row:\n%s", out.String())
	}
}

// Several processes on one database, each running part of the system: the
// commands cross between them through the services' inboxes, the sagas'
// outboxes and deadlines are shared through their tables, the logistics
// context runs in processes of its own and talks to the order context only
// through NATS JetStream, and the flow completes with every invariant
// holding. Each "process" has its own connection pool and broker
// connection, so it shares nothing with the others but the database and
// the broker.
func TestMultiProcess(t *testing.T) {
	first := openTest(t)
	url := brokertest.RequireNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Cleanup(func() { _ = transport.Remove(context.Background(), url, first.Schema) })
	processes := []scenario.Roles{
		{scenario.RoleOrder, scenario.RolePayment, scenario.RoleProjections},
		{scenario.RoleInventory},
		{scenario.RoleLogistics, scenario.RoleCarriers}, // the logistics context, alone
		{scenario.RoleFulfilment},
		{scenario.RoleFulfilment},                       // a second engine: a standby that shares the dispatch
		{scenario.RoleLogistics, scenario.RoleCarriers}, // and a second logistics process: relay standby, shared inbox
	}
	done := make(chan error, len(processes))
	for i, roles := range processes {
		b, err := Open(ctx, pgtest.URL(), Config{Schema: first.Schema, MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		tr, err := transport.Open(ctx, url, first.Schema, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		go func() {
			done <- scenario.Serve(ctx, b.Backend, scenario.AppConfig{PaymentDeadline: 300 * time.Millisecond, Roles: roles, Transport: tr})
		}()
	}
	r := rates
	runCtx, runCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer runCancel()
	rep, err := scenario.Run(runCtx, first.Backend, scenario.Config{Orders: 120, Seed: 9, Rates: &r,
		PaymentDeadline: 300 * time.Millisecond, Roles: scenario.Roles{scenario.RoleClient}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var sb strings.Builder
		rep.Print(&sb, true)
		t.Fatalf("invariants violated:\n%s", sb.String())
	}
	if rep.ByState["completed"] == 0 || rep.ByState["cancelled"] == 0 {
		t.Errorf("orders by state %v: want both outcomes", rep.ByState)
	}
	cancel()
	for range processes {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// A client whose roles no other process runs does not only time out: it
// names the roles to start, and leaves out those that run.
func TestMissingRolesNamed(t *testing.T) {
	b := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serving, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- scenario.Serve(serving, b.Backend, scenario.AppConfig{Roles: scenario.Roles{scenario.RoleInventory, scenario.RoleProjections}})
	}()
	defer func() {
		stopServing()
		<-served
	}()
	r := rates
	_, err := scenario.Run(ctx, b.Backend, scenario.Config{Orders: 3, Seed: 1, Rates: &r, Timeout: 3 * time.Second,
		Roles: scenario.Roles{scenario.RoleClient}})
	if err == nil {
		t.Fatal("a run without services settled")
	}
	const want = "no process seems to run the role(s) order, payment, logistics, fulfilment: start one with -role order,payment,logistics,fulfilment"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}
