package sagatest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/logtest"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/internal/workflow"
)

// WorkflowEnv is what a backend's test provides to [RunWorkflow].
type WorkflowEnv struct {
	// Events returns a fresh event store.
	Events func(t *testing.T) eventstore.Store
	// Store returns a fresh saga store, and a function that opens another
	// handle to the same storage, as a second process would.
	Store func(t *testing.T) (saga.Store, func(t *testing.T) saga.Store)
	// Orders is the instance count of the concurrency scenario.
	Orders int
	// Kill, if set, ends every database connection of the store handle s
	// under it, as the death of the process holding them would: its
	// session locks go with them. A backend with no connections to kill
	// leaves it nil, and the scenarios that kill an engine stop it cleanly
	// instead (and say so).
	Kill func(t *testing.T, s saga.Store)
}

// workflowConfig is an engine configuration with short polls for tests.
func workflowConfig(clock saga.Clock) saga.Config {
	return saga.Config{Clock: clock, PollInterval: 20 * time.Millisecond, ReserveFor: 2 * time.Second,
		RetryMin: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond, HandlerBackoff: time.Millisecond}
}

type rig struct {
	svc   *workflow.Services
	def   *saga.Definition[workflow.State]
	store saga.Store
	open  func(t *testing.T) saga.Store
	clock *saga.ManualClock
}

func newRig(t *testing.T, env WorkflowEnv) *rig {
	events, commands := workflow.Registries()
	store, open := env.Store(t)
	return &rig{svc: workflow.NewServices(env.Events(t), events), def: workflow.Definition(events, commands), store: store, open: open,
		clock: saga.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
}

func (r *rig) engine(t *testing.T, store saga.Store, sender saga.Sender) *saga.Engine {
	t.Helper()
	return r.engineWith(t, store, sender, workflowConfig(r.clock))
}

func (r *rig) engineWith(t *testing.T, store saga.Store, sender saga.Sender, cfg saga.Config) *saga.Engine {
	t.Helper()
	if sender == nil {
		sender = saga.BusSender(r.svc.Bus)
	}
	e, err := saga.NewEngine(r.def, store, r.svc.Store, sender, cfg)
	require.NoError(t, err)
	return e
}

// run runs e until the test ends (or stop is called).
func run(t *testing.T, e *saga.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// finishedErr is nil once n instances have completed or compensated.
func finishedErr(t *testing.T, e *saga.Engine, n int) error {
	counts, err := e.Count(t.Context())
	if err != nil {
		return err
	}
	if counts[saga.Completed]+counts[saga.Compensated] != n {
		return fmt.Errorf("counts %v", counts)
	}
	return nil
}

// waitFinished waits until n instances have completed or compensated.
func waitFinished(t *testing.T, e *saga.Engine, n int, what string) {
	t.Helper()
	waitFor(t, what, func() error { return finishedErr(t, e, n) })
}

func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *rig) checked(t *testing.T, e *saga.Engine, orderID, fail string) {
	t.Helper()
	waitFor(t, "order "+orderID, func() error { return workflow.Check(t.Context(), e, r.svc, orderID, fail) })
}

// RunWorkflow runs a fulfilment saga (order, stock, payment, shipment;
// each step compensated when a later one fails) end to end on real
// [saga.Engine]s over the stores env makes, against in-process services
// that append one event per command. Each scenario runs in parallel with
// the others, on stores of its own:
//
//   - HappyPathAndEachFailurePoint: each failure point compensates exactly
//     the steps done, in reverse order.
//   - DeadlineFiresAndCompensates, DeadlineOfFinishedSagaDoesNothing.
//   - DuplicateDeliveryIsNoOp, LateEventIsRecordedAndIgnored.
//   - CrashAfterCommitBeforeDispatch (the command is sent exactly once),
//     CrashAfterSendBeforeMark (sent twice, applied once).
//   - FailingCompensationIsRetriedAndSurfaced.
//   - RefusedCommandFailsAndCompensates, RefusalAfterTheSagaFailedIsRecorded.
//   - UndecodableEventIsParked.
//   - ConcurrentInstances: env.Orders instances on two engines, every one
//     completed or compensated, none stuck.
//   - KillOneEngineMidFlight: env.Kill ends the connections of one of two
//     engines; the other takes over and every saga ends correctly.
//   - StoppedAndRestartedUnderLoad.
//
// Where [Run] checks the store's contract call by call, RunWorkflow checks
// that an engine on the store does its job.
func RunWorkflow(t *testing.T, env WorkflowEnv) {
	scenarios := []struct {
		name string
		fn   func(*testing.T, WorkflowEnv)
	}{
		{"ConcurrentInstances", concurrent},
		{"KillOneEngineMidFlight", killOne},
		{"HappyPathAndEachFailurePoint", happyAndFailures},
		{"DeadlineFiresAndCompensates", deadlineFires},
		{"DeadlineOfFinishedSagaDoesNothing", deadlineAfterFinish},
		{"DuplicateDeliveryIsNoOp", duplicateDelivery},
		{"LateEventIsRecordedAndIgnored", lateEvent},
		{"CrashAfterCommitBeforeDispatch", crashBeforeDispatch},
		{"CrashAfterSendBeforeMark", crashAfterSend},
		{"FailingCompensationIsRetriedAndSurfaced", failingCompensation},
		{"RefusedCommandFailsAndCompensates", refusedCommand},
		{"RefusalAfterTheSagaFailedIsRecorded", refusalAfterFailure},
		{"UndecodableEventIsParked", undecodable},
		{"StoppedAndRestartedUnderLoad", stopRestart},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.fn(t, env)
		})
	}
}

func happyAndFailures(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	run(t, e)
	modes := []string{"", "stock", "payment", "shipment"}
	for i, fail := range modes {
		require.NoError(t, r.svc.Place(t.Context(), fmt.Sprintf("o%d", i), fail))
	}
	for i, fail := range modes {
		r.checked(t, e, fmt.Sprintf("o%d", i), fail)
	}
	// The compensations are queued newest step first, after the status
	// change, and each names the step it undoes.
	h, err := e.History(t.Context(), "o3")
	require.NoError(t, err)
	var comp []string
	for _, c := range h.Commands {
		if c.Compensation {
			comp = append(comp, c.Step+":"+c.Type)
		}
	}
	assert.Equal(t, []string{"payment:RefundPayment", "stock:ReleaseStock", "order:CancelOrder"}, comp)
	assert.Equal(t, "shipment failed", h.Instance.Reason)
	assert.Equal(t, []string{"order", "stock", "payment"}, h.Instance.Steps)
	var details []string
	for _, en := range h.Entries {
		details = append(details, string(en.Kind)+" "+en.EventType+": "+en.Detail)
	}
	assert.Equal(t, []string{
		"event OrderPlaced: step order done; send ReserveStock",
		"event StockReserved: step stock done; send ChargePayment; schedule deadline payment at " +
			h.Entries[1].At.Add(workflow.PaymentTimeout).Format(time.RFC3339Nano),
		"event PaymentCharged: step payment done; send CreateShipment; cancel deadline payment",
		"event ShipmentFailed: compensate payment with RefundPayment; compensate stock with ReleaseStock; compensate order with CancelOrder",
		"status : compensating: shipment failed",
		"status : compensated",
	}, details)
	for i := range modes {
		h, err := e.History(t.Context(), fmt.Sprintf("o%d", i))
		require.NoError(t, err)
		assert.Empty(t, h.Deadlines, "finished sagas keep no deadlines")
		for _, c := range h.Commands {
			assert.Equal(t, 1, r.svc.Deliveries(c.ID), "command %s %s delivered once", c.Type, c.ID)
		}
	}
	counts, err := e.Count(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[saga.Status]int{saga.Completed: 1, saga.Compensated: 3}, counts)
	parked, err := e.Parked(t.Context())
	require.NoError(t, err)
	assert.Empty(t, parked)
}

func deadlineFires(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "late-pay", "payment-timeout"))
	waitFor(t, "the charge sent and its deadline pending", func() error {
		h, err := e.History(t.Context(), "late-pay")
		if err != nil {
			return err
		}
		if len(h.Commands) != 2 || !h.Commands[1].Sent() || len(h.Deadlines) != 1 {
			return fmt.Errorf("commands %d, deadlines %v", len(h.Commands), h.Deadlines)
		}
		return nil
	})
	// Before the deadline nothing fires, however often the scheduler runs.
	r.clock.Advance(workflow.PaymentTimeout - time.Second)
	n, err := e.FireDeadlines(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	h, err := e.History(t.Context(), "late-pay")
	require.NoError(t, err)
	assert.Equal(t, saga.Running, h.Instance.Status)

	r.clock.Advance(2 * time.Second)
	r.checked(t, e, "late-pay", "payment-timeout")
	h, err = e.History(t.Context(), "late-pay")
	require.NoError(t, err)
	assert.Equal(t, "deadline payment expired", h.Instance.Reason)
	var fired bool
	for _, en := range h.Entries {
		fired = fired || (en.Kind == saga.DeadlineFired &&
			en.Detail == "payment: compensate stock with ReleaseStock; compensate order with CancelOrder")
	}
	assert.True(t, fired, "history records the deadline firing")
}

func deadlineAfterFinish(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	stop := run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "done", ""))
	r.checked(t, e, "done", "")
	stop() // from here on, this test runs the scheduler itself

	// The payment deadline was cancelled when the payment came first: time
	// passing fires nothing.
	r.clock.Advance(24 * time.Hour)
	n, err := e.FireDeadlines(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)

	// A deadline still stored for the finished saga (as when the scheduler
	// reserved it just before the saga completed) is removed and recorded as
	// ignored; nothing is sent.
	before, err := e.History(t.Context(), "done")
	require.NoError(t, err)
	require.NoError(t, r.store.Commit(t.Context(), saga.Commit{Saga: workflow.Name,
		Schedule: []saga.Deadline{{Instance: "done", Name: "payment", DueAt: r.clock.Now()}}}))
	n, err = e.FireDeadlines(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	after, err := e.History(t.Context(), "done")
	require.NoError(t, err)
	assert.Equal(t, saga.Completed, after.Instance.Status)
	assert.Equal(t, before.Instance.Version, after.Instance.Version)
	assert.Len(t, after.Commands, len(before.Commands))
	assert.Empty(t, after.Deadlines)
	last := after.Entries[len(after.Entries)-1]
	assert.Equal(t, saga.DeadlineIgnored, last.Kind)
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.RecordedEvent {
	var out []eventstore.RecordedEvent
	for ev, err := range s.ReadAll(t.Context(), eventstore.ReadAllOptions{}) {
		require.NoError(t, err)
		out = append(out, ev)
	}
	return out
}

func duplicateDelivery(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	require.NoError(t, r.svc.Place(t.Context(), "dup", ""))
	evs := readAll(t, r.svc.Store)
	require.Len(t, evs, 1)
	require.NoError(t, e.HandleEvents(t.Context(), evs...))
	h1, err := e.History(t.Context(), "dup")
	require.NoError(t, err)
	// Delivered again, alone and within a batch: nothing changes.
	require.NoError(t, e.HandleEvents(t.Context(), evs...))
	require.NoError(t, e.HandleEvents(t.Context(), evs[0], evs[0]))
	h2, err := e.History(t.Context(), "dup")
	require.NoError(t, err)
	assert.Equal(t, int64(1), h2.Instance.Version)
	assert.Len(t, h2.Commands, 1)
	assert.Equal(t, h1.Entries, h2.Entries)

	// The subscription then delivers it a third time, and the rest of the
	// flow runs once.
	run(t, e)
	r.checked(t, e, "dup", "")
}

func lateEvent(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "fin", ""))
	r.checked(t, e, "fin", "")
	before, err := e.History(t.Context(), "fin")
	require.NoError(t, err)
	ev, err := r.svc.Events.Encode(workflow.ShipmentFailed{OrderID: "fin"}, eventstore.Metadata{})
	require.NoError(t, err)
	_, err = r.svc.Store.Append(t.Context(), "shipment-fin", eventstore.Any, ev)
	require.NoError(t, err)
	waitFor(t, "the late event recorded", func() error {
		h, err := e.History(t.Context(), "fin")
		if err != nil {
			return err
		}
		last := h.Entries[len(h.Entries)-1]
		if last.Kind != saga.EventIgnored || last.EventID != ev.ID {
			return fmt.Errorf("last entry %+v", last)
		}
		return nil
	})
	after, err := e.History(t.Context(), "fin")
	require.NoError(t, err)
	assert.Equal(t, saga.Completed, after.Instance.Status)
	assert.Len(t, after.Commands, len(before.Commands))
	parked, err := e.Parked(t.Context())
	require.NoError(t, err)
	assert.Empty(t, parked)
}

func crashBeforeDispatch(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	// Process 1 handles OrderPlaced (the state and the outbox row commit)
	// and dies before its dispatcher runs.
	first := r.engine(t, r.store, nil)
	require.NoError(t, r.svc.Place(t.Context(), "crash", ""))
	require.NoError(t, first.HandleEvents(t.Context(), readAll(t, r.svc.Store)...))
	h, err := first.History(t.Context(), "crash")
	require.NoError(t, err)
	require.Len(t, h.Commands, 1)
	require.False(t, h.Commands[0].Sent())
	require.Zero(t, r.svc.Deliveries(h.Commands[0].ID))

	// Process 2 starts on the same database: the command goes out exactly
	// once and the saga runs to its end.
	second := r.engine(t, r.open(t), nil)
	run(t, second)
	r.checked(t, second, "crash", "")
	h, err = second.History(t.Context(), "crash")
	require.NoError(t, err)
	for _, c := range h.Commands {
		assert.Equal(t, 1, r.svc.Deliveries(c.ID), "%s", c.Type)
	}
}

func crashAfterSend(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	// The first send of ReserveStock reaches the bus, then the process
	// "dies" before it records the send (the sender reports a failure).
	var lost atomic.Bool
	bus := saga.BusSender(r.svc.Bus)
	sender := saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		if err := bus.Send(ctx, c); err != nil {
			return err
		}
		if _, ok := c.Payload.(workflow.ReserveStock); ok && lost.CompareAndSwap(false, true) {
			return errors.New("connection reset after send")
		}
		return nil
	})
	e := r.engine(t, r.store, sender)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "resend", ""))
	waitFor(t, "the failed send recorded", func() error {
		failing, err := e.FailingCommands(t.Context())
		if err != nil || len(failing) != 1 {
			return fmt.Errorf("failing %v, %v", failing, err)
		}
		return nil
	})
	// The retry is due after the back-off, by the engine's clock.
	r.clock.Advance(time.Second)
	r.checked(t, e, "resend", "")
	h, err := e.History(t.Context(), "resend")
	require.NoError(t, err)
	assert.Equal(t, 2, r.svc.Deliveries(h.Commands[0].ID), "ReserveStock sent twice, with the same ID")
	assert.Equal(t, 2, h.Commands[0].Attempts)
	// ...and applied once: Check saw exactly one StockReserved.
}

func failingCompensation(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	var broken atomic.Bool
	broken.Store(true)
	bus := saga.BusSender(r.svc.Bus)
	sender := saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		if _, ok := c.Payload.(workflow.CancelOrder); ok && broken.Load() {
			return errors.New("order service unavailable")
		}
		return bus.Send(ctx, c)
	})
	e := r.engine(t, r.store, sender)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "stuck", "payment"))
	waitFor(t, "the compensation failing", func() error {
		failing, err := e.FailingCommands(t.Context())
		if err != nil || len(failing) != 1 || failing[0].Type != "CancelOrder" {
			return fmt.Errorf("failing %v, %v", failing, err)
		}
		return nil
	})
	failing, err := e.FailingCommands(t.Context())
	require.NoError(t, err)
	assert.Contains(t, failing[0].LastError, "order service unavailable")
	h, err := e.History(t.Context(), "stuck")
	require.NoError(t, err)
	assert.Equal(t, saga.Compensating, h.Instance.Status, "not compensated while a compensation is unsent")
	// Retried with back-off while it fails: advance past several back-offs.
	for range 3 {
		r.clock.Advance(time.Second)
		waitFor(t, "another try", func() error {
			f, err := e.FailingCommands(t.Context())
			if err != nil || len(f) != 1 || f[0].NextAttempt.Before(r.clock.Now()) || f[0].Attempts <= failing[0].Attempts {
				return fmt.Errorf("failing %v, %v", f, err)
			}
			failing = f
			return nil
		})
	}
	broken.Store(false)
	r.clock.Advance(time.Minute)
	r.checked(t, e, "stuck", "payment")
}

// refusedCommand: the shipment service refuses CreateShipment (a
// command.Refusef, recording nothing) after two transient failures. The
// transient failures are retried; the refusal is not: the saga fails with
// the refusal as its reason and compensates its done steps, newest first.
func refusedCommand(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	var transient atomic.Int32
	transient.Store(2)
	bus := saga.BusSender(r.svc.Bus)
	sender := saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		if _, ok := c.Payload.(workflow.CreateShipment); ok && transient.Add(-1) >= 0 {
			return errors.New("logistics unavailable")
		}
		return bus.Send(ctx, c)
	})
	e := r.engine(t, r.store, sender)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "refused", "shipment-refused"))
	for attempts := 1; attempts <= 2; attempts++ {
		waitFor(t, fmt.Sprintf("CreateShipment failing %d time(s)", attempts), func() error {
			f, err := e.FailingCommands(t.Context())
			// Attempts counts reservations; the failure is recorded once the next
			// try is set (in the future: the clock stands still).
			if err != nil || len(f) != 1 || f[0].Type != "CreateShipment" || f[0].Attempts != attempts || f[0].NextAttempt.Before(r.clock.Now()) {
				return fmt.Errorf("failing %v, %v", f, err)
			}
			return nil
		})
		r.clock.Advance(time.Second) // past the back-off
	}
	r.checked(t, e, "refused", "shipment-refused")

	h, err := e.History(t.Context(), "refused")
	require.NoError(t, err)
	const reason = "CreateShipment refused: no carrier serves order refused"
	assert.Equal(t, reason, h.Instance.Reason)
	create := h.Commands[2]
	assert.True(t, create.Refused)
	assert.Equal(t, 3, create.Attempts, "two transient failures, then the refusal")
	assert.Equal(t, "no carrier serves order refused", create.LastError)
	assert.Equal(t, 1, r.svc.Deliveries(create.ID), "the refusal is not sent again")
	var comp []string
	for _, c := range h.Commands {
		assert.True(t, c.Refused == (c.Type == "CreateShipment"), "%s refused=%v", c.Type, c.Refused)
		if c.Compensation {
			comp = append(comp, c.Step+":"+c.Type)
		}
	}
	assert.Equal(t, []string{"payment:RefundPayment", "stock:ReleaseStock", "order:CancelOrder"}, comp)
	var details []string
	for _, en := range h.Entries[3:] {
		details = append(details, string(en.Kind)+": "+en.Detail)
	}
	assert.Equal(t, []string{
		"command-refused: " + reason + ": compensate payment with RefundPayment; compensate stock with ReleaseStock; compensate order with CancelOrder",
		"status: compensating: " + reason,
		"status: compensated",
	}, details)
	failing, err := e.FailingCommands(t.Context())
	require.NoError(t, err)
	assert.Empty(t, failing)
}

// refusalAfterFailure: ChargePayment keeps failing transiently until the
// payment deadline fails the saga; then the payment service refuses it.
// The refusal is recorded, the saga is not failed twice, and the
// compensations queued behind the charge go out.
func refusalAfterFailure(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	var refuse atomic.Bool
	bus := saga.BusSender(r.svc.Bus)
	sender := saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		if _, ok := c.Payload.(workflow.ChargePayment); ok {
			if refuse.Load() {
				return command.Refusef("card expired")
			}
			return errors.New("payment service unavailable")
		}
		return bus.Send(ctx, c)
	})
	e := r.engine(t, r.store, sender)
	run(t, e)
	require.NoError(t, r.svc.Place(t.Context(), "expired", ""))
	waitFor(t, "the charge failing", func() error {
		f, err := e.FailingCommands(t.Context())
		if err != nil || len(f) != 1 || f[0].Type != "ChargePayment" || f[0].NextAttempt.Before(r.clock.Now()) {
			return fmt.Errorf("failing %v, %v", f, err)
		}
		return nil
	})
	r.clock.Advance(workflow.PaymentTimeout + time.Minute)
	waitFor(t, "the deadline failing the saga", func() error {
		h, err := e.History(t.Context(), "expired")
		if err != nil || h.Instance.Status != saga.Compensating {
			return fmt.Errorf("status %s, %v", h.Instance.Status, err)
		}
		return nil
	})
	refuse.Store(true)
	waitFor(t, "the saga compensated", func() error {
		// A transient try may have been in flight when refuse was set:
		// move the clock past its back-off on every look.
		r.clock.Advance(time.Minute)
		h, err := e.History(t.Context(), "expired")
		if err != nil || h.Instance.Status != saga.Compensated {
			return fmt.Errorf("status %s, %v", h.Instance.Status, err)
		}
		return nil
	})
	h, err := e.History(t.Context(), "expired")
	require.NoError(t, err)
	assert.Equal(t, "deadline payment expired", h.Instance.Reason)
	var types, kinds []string
	for _, c := range h.Commands {
		types = append(types, fmt.Sprintf("%s sent=%v refused=%v", c.Type, c.Sent(), c.Refused))
	}
	assert.Equal(t, []string{"ReserveStock sent=true refused=false", "ChargePayment sent=true refused=true",
		"ReleaseStock sent=true refused=false", "CancelOrder sent=true refused=false"}, types)
	for _, en := range h.Entries {
		if en.Kind == saga.CommandRefused || en.Kind == saga.StatusChanged {
			kinds = append(kinds, string(en.Kind)+": "+en.Detail)
		}
	}
	assert.Equal(t, []string{
		"status: compensating: deadline payment expired",
		"command-refused: ChargePayment refused: card expired (the saga is already compensating)",
		"status: compensated",
	}, kinds)
	for _, prefix := range []string{"stock-", "order-"} {
		got, err := r.svc.Types(t.Context(), prefix+"expired")
		require.NoError(t, err)
		assert.Contains(t, got, map[string]string{"stock-": "StockReleased", "order-": "OrderCancelled"}[prefix])
	}
}

func undecodable(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	e := r.engine(t, r.store, nil)
	run(t, e)
	bad := eventstore.NewEvent("StockReserved", []byte(`{"order_id": 5}`))
	_, err := r.svc.Store.Append(t.Context(), "stock-bad", eventstore.Any, bad)
	require.NoError(t, err)
	require.NoError(t, r.svc.Place(t.Context(), "after-bad", ""))
	// The bad event is parked, visible with its error, and the engine goes
	// on with the next ones.
	r.checked(t, e, "after-bad", "")
	parked, err := e.Parked(t.Context())
	require.NoError(t, err)
	require.Len(t, parked, 1)
	assert.Equal(t, bad.ID, parked[0].EventID)
	assert.Equal(t, "stock-bad", parked[0].StreamID)
	assert.Contains(t, parked[0].Error, "decode")
}

func modeOf(i int) string {
	return []string{"", "", "", "stock", "payment", "shipment"}[i%6]
}

func concurrent(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	n := env.Orders
	if n == 0 {
		n = 100
	}
	a := r.engine(t, r.store, nil)
	b := r.engine(t, r.open(t), nil)
	run(t, a)
	run(t, b)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if err := r.svc.Place(context.Background(), fmt.Sprintf("c%04d", i), modeOf(i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	waitFinished(t, a, n, "every instance finished")
	// A saga completes when it decides to, with its last command (the
	// order's confirmation) still in the outbox: wait for the sends too.
	for i := range n {
		r.checked(t, a, fmt.Sprintf("c%04d", i), modeOf(i))
	}
	counts, err := a.Count(t.Context())
	require.NoError(t, err)
	completed := 0
	for i := range n {
		if modeOf(i) == "" {
			completed++
		}
	}
	assert.Equal(t, map[saga.Status]int{saga.Completed: completed, saga.Compensated: n - completed}, counts, "none stuck")
	parked, err := a.Parked(t.Context())
	require.NoError(t, err)
	assert.Empty(t, parked)
}

// killOne runs two engines on one database and kills the one that owns the
// subscription mid-flight (sends held, most sagas unfinished). Where the backend allows it (WorkflowEnv.Kill), A's database
// connections end under it first, so it loses its lease the way a dead
// process does (the lock goes with the connection; B takes it and fences A)
// and its dispatcher and scheduler lose what they had in flight; only then
// do its goroutines stop. B must finish every saga with no event handled
// twice and every stream holding exactly the expected events.
func killOne(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	n := max(env.Orders/5, 40)
	// The orders are all placed first, so that the engines start on a
	// backlog.
	for i := range n {
		require.NoError(t, r.svc.Place(t.Context(), fmt.Sprintf("k%03d", i), modeOf(i)))
	}
	// Once 2n commands have gone out, the next sends are held, so that A
	// is surely killed mid-flight however fast the backend is.
	g := &sendGate{limit: int64(2 * n), release: make(chan struct{})}
	bus := saga.BusSender(r.svc.Bus)
	storeA, storeB := r.store, r.open(t)
	logA := &logtest.Recorder{}
	cfgA := workflowConfig(r.clock)
	cfgA.Logger = slog.New(logA)
	a := r.engineWith(t, storeA, g.wrap(bus), cfgA)
	stopA := run(t, a)
	waitFor(t, "engine A owning the subscription", func() error {
		if !a.Owner() {
			return errors.New("not yet")
		}
		return nil
	})
	b := r.engine(t, storeB, g.wrap(bus))
	run(t, b)
	waitFor(t, "sends held", func() error {
		if g.held.Load() == 0 {
			return errors.New("none yet")
		}
		return nil
	})
	atKill, err := b.Count(t.Context())
	require.NoError(t, err)
	require.Less(t, atKill[saga.Completed]+atKill[saga.Compensated], n, "mid-flight")
	if env.Kill != nil {
		_, logged := logA.Since(0)
		env.Kill(t, storeA)
		// A is still running: it must notice on its own that its lease is
		// gone (its lock connection died, or B fenced it) and stop
		// following the log.
		var stopped string
		waitFor(t, "engine A losing its subscription lease", func() error {
			for _, m := range first(logA.Since(logged)) {
				if strings.HasPrefix(m, "saga: subscription stopped") {
					stopped = m
					return nil
				}
			}
			return errors.New("A still follows the log")
		})
		stopA()
		t.Logf("killed engine A's database connections with %v and %d sends held; A then logged %s; %q",
			atKill, g.held.Load(), summarize(first(logA.Since(logged))), stopped)
	} else {
		stopA()
		t.Logf("this backend has no connections to kill: engine A was stopped cleanly (releasing its lease) with %v and %d sends held",
			atKill, g.held.Load())
	}
	close(g.release)
	// A's reservations die with it; they expire by the clock, and B takes them.
	r.clock.Advance(3 * time.Second)
	waitFinished(t, b, n, "every instance finished by B")
	waitFor(t, "B owning the subscription", func() error {
		if !b.Owner() {
			return errors.New("not yet")
		}
		return nil
	})
	// A saga completes when it decides to, with its last command (the
	// order's confirmation) still in the outbox: wait for the sends too.
	for i := range n {
		r.checked(t, b, fmt.Sprintf("k%03d", i), modeOf(i))
	}
	parked, err := b.Parked(t.Context())
	require.NoError(t, err)
	assert.Empty(t, parked)
}

// sendGate lets limit sends through, then holds every further send until
// release is closed or the sending engine stops.
type sendGate struct {
	limit   int64
	passed  atomic.Int64
	held    atomic.Int64
	release chan struct{}
}

func (g *sendGate) wrap(next saga.Sender) saga.Sender {
	return saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		if g.passed.Add(1) > g.limit {
			g.held.Add(1)
			select {
			case <-g.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return next.Send(ctx, c)
	})
}

// summarize counts log messages by their text up to the first colon.
func summarize(msgs []string) string {
	counts := map[string]int{}
	var order []string
	for _, m := range msgs {
		k, _, _ := strings.Cut(m, ": ")
		if rest, ok := strings.CutPrefix(m, "saga: "); ok {
			k, _, _ = strings.Cut(rest, ": ")
			k = "saga: " + k
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%q x%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// stopRestart stops the engine again and again while commands are being
// sent and their results recorded, then lets one run to the end. Every stop
// must return (the dispatcher's goroutines end with Run), and the sagas
// must end as if nothing had happened: no event handled twice, every
// command sent, each stream holding what it should (so no command took
// effect twice).
func stopRestart(t *testing.T, env WorkflowEnv) {
	r := newRig(t, env)
	n := max(env.Orders/4, 100)
	// A sender slow enough that results are in flight at every stop.
	var sends atomic.Int64
	bus := saga.BusSender(r.svc.Bus)
	slow := saga.SenderFunc(func(ctx context.Context, c command.Command) error {
		sends.Add(1)
		time.Sleep(time.Millisecond)
		return bus.Send(ctx, c)
	})
	for i := range n {
		require.NoError(t, r.svc.Place(t.Context(), fmt.Sprintf("r%03d", i), modeOf(i)))
	}
	e := r.engine(t, r.store, slow)
	stops := 0
	for round := range 12 {
		before := sends.Load()
		stop := run(t, e)
		done := false
		waitFor(t, "sends in flight", func() error {
			if sends.Load() >= before+int64(1+round%4) {
				return nil
			}
			if done = finishedErr(t, e, n) == nil; done {
				return nil
			}
			return errors.New("not yet")
		})
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second): // a hang detector, not a timing assertion
			t.Fatalf("round %d: Run did not return after its context was cancelled", round)
		}
		stops++
		if done {
			break
		}
		// The stopped engine's reservations expire; the next one takes them.
		r.clock.Advance(3 * time.Second)
	}
	t.Logf("stopped the engine %d times with commands in flight; %d sends", stops, sends.Load())
	r.clock.Advance(3 * time.Second)
	run(t, e)
	waitFinished(t, e, n, "every instance finished")
	for i := range n {
		r.checked(t, e, fmt.Sprintf("r%03d", i), modeOf(i))
	}
	parked, err := e.Parked(t.Context())
	require.NoError(t, err)
	assert.Empty(t, parked)
}

// first returns its first argument.
func first[T, U any](t T, _ U) T { return t }
