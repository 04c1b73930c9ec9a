package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

type (
	orderEvent      struct{ Order string }
	paymentDeclined orderEvent
	orderBroken     orderEvent
	paymentCharged  orderEvent
	reserveStock    struct{ Order string }
	releaseStock    struct{ Order string }
	chargeCard      struct{ Order string }
	fulfilState     struct {
		Order   string
		Charged bool
	}
)

// fulfilment is a small saga: reserve stock, charge, and release the stock
// when the payment is declined.
func fulfilment() *saga.Definition[fulfilState] {
	commands := eventstore.NewRegistry(nil)
	eventstore.MustRegister[reserveStock](commands, "ReserveStock")
	eventstore.MustRegister[releaseStock](commands, "ReleaseStock")
	eventstore.MustRegister[chargeCard](commands, "ChargeCard")
	events := eventstore.NewRegistry(nil)
	eventstore.MustRegister[orderEvent](events, "OrderPlaced")
	eventstore.MustRegister[paymentDeclined](events, "PaymentDeclined")
	eventstore.MustRegister[orderBroken](events, "OrderBroken")
	eventstore.MustRegister[paymentCharged](events, "PaymentCharged")
	d := saga.New[fulfilState]("fulfilment", saga.Options{Events: events, Commands: commands})
	d.Step("stock", func(s fulfilState) any { return releaseStock{Order: s.Order} })
	order := func(e orderEvent) string { return e.Order }
	saga.Start(d, "OrderPlaced", order, func(_ context.Context, s *saga.Scope[fulfilState], e orderEvent) error {
		s.State().Order = e.Order
		s.Send(reserveStock{Order: e.Order})
		s.StepDone("stock")
		s.Send(chargeCard{Order: e.Order})
		s.Schedule("payment", time.Hour)
		return nil
	})
	saga.On(d, "PaymentDeclined", func(e paymentDeclined) string { return e.Order }, func(_ context.Context, s *saga.Scope[fulfilState], e paymentDeclined) error {
		s.Cancel("payment")
		s.Fail("payment declined")
		return nil
	})
	saga.On(d, "OrderBroken", func(e orderBroken) string { return e.Order }, func(_ context.Context, s *saga.Scope[fulfilState], e orderBroken) error {
		return errors.New("cannot handle a broken order")
	})
	saga.On(d, "PaymentCharged", func(e paymentCharged) string { return e.Order }, func(_ context.Context, s *saga.Scope[fulfilState], e paymentCharged) error {
		s.Cancel("payment")
		s.State().Charged = true
		s.Complete()
		return nil
	})
	return d
}

func newFulfilment(pool *pgxpool.Pool, schema string, events eventstore.Store) (*saga.Engine, error) {
	store, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	if err != nil {
		return nil, err
	}
	// The payment service is unavailable for o-3's charge: it stays in the
	// outbox. It refuses o-4's for good: that saga compensates.
	send := saga.SenderFunc(func(_ context.Context, cmd command.Command) error {
		var order string
		if c, ok := cmd.Payload.(*chargeCard); ok {
			order = c.Order
		}
		if c, ok := cmd.Payload.(chargeCard); ok {
			order = c.Order
		}
		switch order {
		case "o-3":
			return errors.New("payment service unavailable")
		case "o-4":
			return command.Refusef("card expired")
		}
		return nil
	})
	return saga.NewEngine(fulfilment(), store, events, send, saga.Config{HandlerAttempts: 2, HandlerBackoff: time.Millisecond})
}

func TestSagas(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-1"}}{"type": "PaymentCharged", "data": {"Order": "o-1"}}`, "append", "order-1", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-2"}}{"type": "PaymentDeclined", "data": {"Order": "o-2"}}`, "append", "order-2", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-3"}}{"type": "OrderBroken", "data": {"Order": "o-3"}}`, "append", "order-3", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"Order": "o-4"}}`, "append", "order-4", "--expected", "no-stream")

	// The application's engine handles the log and sends its outbox.
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	events, err := espg.New(pool, espg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	engine, err := newFulfilment(pool, e.schema, events)
	if err != nil {
		t.Fatal(err)
	}
	// ReadAll returns what is below the horizon: wait for all seven events.
	var log []eventstore.RecordedEvent
	waitFor(t, "the seven events", func() bool {
		log = log[:0]
		for ev, err := range events.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			log = append(log, ev)
		}
		return len(log) == 7
	})
	if err := engine.HandleEvents(ctx, log...); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := engine.Dispatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}

	// The generic binary, told the saga's name.
	golden(t, "sagas_list", e.normalise(e.ok("", "sagas", "list", "fulfilment")))
	var running []struct {
		ID     string   `json:"id"`
		Status string   `json:"status"`
		Steps  []string `json:"steps"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "sagas", "list", "fulfilment", "--status", "running", "--json")), &running); err != nil {
		t.Fatal(err)
	}
	if len(running) != 1 || running[0].ID != "o-3" || running[0].Status != "running" || strings.Join(running[0].Steps, ",") != "stock" {
		t.Errorf("sagas list --status running --json: %+v", running)
	}
	if got := e.ok("", "sagas", "list", "fulfilment", "--after", "o-1", "--limit", "1", "--json"); !strings.Contains(got, `"id":"o-2"`) || strings.Contains(got, "o-3") {
		t.Errorf("paging: %s", got)
	}
	golden(t, "sagas_show_compensated", e.normalise(e.ok("", "sagas", "show", "fulfilment", "o-2")))
	golden(t, "sagas_show_refused", e.normalise(e.ok("", "sagas", "show", "fulfilment", "o-4")))
	if got := e.ok("", "sagas", "show", "fulfilment", "o-4", "--json"); !strings.Contains(got, `"type":"ChargeCard","data":{"Order":"o-4"}`) ||
		!strings.Contains(got, `"last_error":"card expired"`) || !strings.Contains(got, `"refused":true`) {
		t.Errorf("sagas show o-4 --json: %s", got)
	}

	var h struct {
		Instance struct {
			ID     string          `json:"id"`
			Status string          `json:"status"`
			State  json.RawMessage `json:"state"`
		} `json:"instance"`
		History []struct {
			Kind string `json:"kind"`
		} `json:"history"`
		Commands []struct {
			Type   string  `json:"type"`
			SentAt *string `json:"sent_at"`
		} `json:"commands"`
		Deadlines []struct {
			Name string `json:"name"`
		} `json:"deadlines"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "sagas", "show", "fulfilment", "o-3", "--json")), &h); err != nil {
		t.Fatal(err)
	}
	if h.Instance.ID != "o-3" || h.Instance.Status != "running" || string(h.Instance.State) != `{"Order":"o-3","Charged":false}` ||
		len(h.Commands) != 2 || h.Commands[0].Type != "ReserveStock" || h.Commands[0].SentAt == nil || h.Commands[1].SentAt != nil ||
		len(h.Deadlines) != 1 || h.Deadlines[0].Name != "payment" || len(h.History) == 0 {
		t.Errorf("sagas show o-3 --json: %+v", h)
	}
	// What an operator looks at when a saga is stuck: the event its handler
	// kept failing on, and the command its receiver keeps refusing.
	golden(t, "sagas_parked", e.normalise(e.ok("", "sagas", "parked", "fulfilment")))
	var failing []struct {
		Instance  string `json:"instance"`
		Seq       int64  `json:"seq"`
		Type      string `json:"type"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "sagas", "failing", "fulfilment", "--json")), &failing); err != nil {
		t.Fatal(err)
	}
	if len(failing) != 1 || failing[0].Instance != "o-3" || failing[0].Seq != 2 || failing[0].Type != "ChargeCard" ||
		failing[0].Attempts < 1 || failing[0].LastError != "payment service unavailable" {
		t.Errorf("sagas failing --json: %+v", failing)
	}
	msg := e.fails(cli.ExitNotFound, "", "sagas", "show", "fulfilment", "o-404")
	if !strings.Contains(msg, "o-404") {
		t.Errorf("unknown instance: %q", msg)
	}
	// Without a name the generic binary counts what the saga tables hold:
	// the same table the application's binary prints from its engines.
	golden(t, "sagas_counts", e.normalise(e.ok("", "sagas", "list")))
	msg = e.fails(cli.ExitNotFound, "", "sagas", "list", "billing")
	if !strings.Contains(msg, `saga "billing"`) || !strings.Contains(msg, "sagas in this schema: fulfilment") {
		t.Errorf("generic unknown saga: %q", msg)
	}

	// The application's binary knows its sagas.
	e.opts = cli.Options{Sagas: func(ctx context.Context, env *cli.Env) ([]*saga.Engine, error) {
		en, err := newFulfilment(env.Pool, env.Schema, env.Events)
		return []*saga.Engine{en}, err
	}}
	golden(t, "sagas_counts", e.normalise(e.ok("", "sagas", "list")))
	var counts []struct {
		Saga   string         `json:"saga"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "sagas", "list", "--json")), &counts); err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Saga != "fulfilment" || counts[0].Counts["running"] != 1 || counts[0].Counts["completed"] != 1 ||
		counts[0].Counts["compensated"] != 2 || counts[0].Counts["compensating"] != 0 {
		t.Errorf("sagas list --json: %+v", counts)
	}
	if got := e.ok("", "sagas", "show", "fulfilment", "o-1"); !strings.Contains(got, "completed") {
		t.Errorf("embedded sagas show o-1:\n%s", got)
	}
	e.fails(cli.ExitNotFound, "", "sagas", "list", "billing")
}

// TestSagasGenericBinary is what the generic binary finds in the saga tables
// without being told any saga name: every saga with instances, parked events
// or a checkpoint, and nothing else.
func TestSagasGenericBinary(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// An empty schema: no sagas, and any name is not found.
	if got := e.ok("", "sagas", "list"); got != "SAGA  RUNNING  COMPLETED  COMPENSATING  COMPENSATED\n" {
		t.Errorf("sagas list on empty tables:\n%q", got)
	}
	if got := e.ok("", "sagas", "list", "--json"); got != "[]\n" {
		t.Errorf("sagas list --json on empty tables: %q", got)
	}
	msg := e.fails(cli.ExitNotFound, "", "sagas", "list", "billing")
	if !strings.Contains(msg, `saga "billing"`) || !strings.Contains(msg, "this schema has no sagas") {
		t.Errorf("unknown saga on empty tables: %q", msg)
	}

	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := sagapg.New(pool, sagapg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	instances := func(name string, statuses ...saga.Status) saga.Commit {
		c := saga.Commit{Saga: name}
		for i, s := range statuses {
			c.Instances = append(c.Instances, saga.InstanceWrite{Instance: saga.Instance{Saga: name, ID: fmt.Sprintf("%s-%d", name, i+1),
				Status: s, State: []byte(`{}`), Version: 1, StartedAt: now, UpdatedAt: now}})
		}
		return c
	}
	for _, c := range []saga.Commit{
		instances("billing", saga.Running, saga.Running, saga.Completed, saga.Compensated),
		instances("shipping", saga.Compensating),
		// An event no handler could decode is parked without an instance.
		{Saga: "returns", Parked: []saga.Parked{{Saga: "returns", EventID: uuid.New(), EventType: "ReturnRequested",
			StreamID: "return-1", Version: 1, Position: eventstore.Position{Commit: 7, Prepare: 7},
			Error: "cannot decode", Attempts: 1, ParkedAt: now}}},
	} {
		if err := store.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// An engine that ran and handled nothing yet leaves a checkpoint.
	lease, err := store.Acquire(ctx, "payments")
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}

	golden(t, "sagas_counts_generic", e.normalise(e.ok("", "sagas", "list")))
	var counts []struct {
		Saga   string         `json:"saga"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "sagas", "list", "--json")), &counts); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		"billing":  {"running": 2, "completed": 1, "compensating": 0, "compensated": 1},
		"payments": {"running": 0, "completed": 0, "compensating": 0, "compensated": 0},
		"returns":  {"running": 0, "completed": 0, "compensating": 0, "compensated": 0},
		"shipping": {"running": 0, "completed": 0, "compensating": 1, "compensated": 0},
	}
	var names []string
	for _, c := range counts {
		names = append(names, c.Saga)
		if fmt.Sprint(c.Counts) != fmt.Sprint(want[c.Saga]) {
			t.Errorf("sagas list --json: %s: %v, want %v", c.Saga, c.Counts, want[c.Saga])
		}
	}
	if strings.Join(names, ",") != "billing,payments,returns,shipping" {
		t.Errorf("sagas list --json: sagas %v", names)
	}

	// Every saga listed can be asked about, with or without instances.
	if got := e.ok("", "sagas", "list", "payments", "--json"); got != "[]\n" {
		t.Errorf("sagas list payments --json: %q", got)
	}
	if got := e.ok("", "sagas", "parked", "returns"); !strings.Contains(got, "ReturnRequested") || !strings.Contains(got, "cannot decode") {
		t.Errorf("sagas parked returns:\n%s", got)
	}
	if got := e.ok("", "sagas", "list", "billing", "--status", "running", "--json"); strings.Count(got, `"id"`) != 2 {
		t.Errorf("sagas list billing --status running --json: %s", got)
	}

	// A name the tables do not hold is not found, whatever the command,
	// and the message says which sagas are there.
	for _, args := range [][]string{
		{"sagas", "list", "bill"},
		{"sagas", "show", "bill", "billing-1"},
		{"sagas", "parked", "bill"},
		{"sagas", "failing", "bill"},
	} {
		msg := e.fails(cli.ExitNotFound, "", args...)
		if !strings.Contains(msg, `saga "bill" has no instances`) || !strings.Contains(msg, "sagas in this schema: billing, payments, returns, shipping") {
			t.Errorf("%v: stderr %q", args, msg)
		}
	}
	r := e.run("", "--json", "sagas", "list", "bill")
	var jsonErr struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(r.stderr), &jsonErr); err != nil || r.code != cli.ExitNotFound || jsonErr.Code != cli.ExitNotFound ||
		!strings.Contains(jsonErr.Error, `saga "bill"`) || r.stdout != "" {
		t.Errorf("--json sagas list bill: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
