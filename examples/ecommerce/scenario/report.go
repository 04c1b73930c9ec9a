package scenario

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/examples/ecommerce/fulfilment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// Report is what a run did and whether its invariants hold.
type Report struct {
	Backend string
	Orders  int
	Seed    uint64
	// ByState counts the orders by final status (completed, cancelled).
	ByState map[string]int
	// Compensations counts compensated sagas by reason.
	Compensations map[string]int
	Stock         struct{ SKUs, Initial, Reserved, Released, Available int }
	Money         struct{ Charged, Refunded, Revenue int64 }
	// Events is the number of events in the log.
	Events int
	// Elapsed is from the first command to the settled state.
	Elapsed time.Duration
	Checks  []Check
	// Snapshot is the read models at the end of the run.
	Snapshot readmodel.Snapshot
	// Integration is what crossed the broker between the order and
	// logistics contexts.
	Integration IntegrationReport
	// Replay is set when the run was asked to replay the log.
	Replay *ReplayReport
}

// Check is one invariant and whether it held.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

func (r *Report) add(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: detail})
}

// OK reports whether every check held.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0 && (r.Replay == nil || r.Replay.OK())
}

// Print writes the report; timing adds the throughput, which varies from
// run to run (an Example leaves it out).
func (r *Report) Print(w io.Writer, timing bool) {
	fmt.Fprintf(w, "e-commerce run: %d orders, seed %d, %s backend, logistics over the %s broker\n", r.Orders, r.Seed, r.Backend, r.Integration.Transport)
	fmt.Fprintln(w, "\norders by final state")
	for _, s := range slices.Sorted(maps.Keys(r.ByState)) {
		fmt.Fprintf(w, "  %-26s %6d\n", s, r.ByState[s])
	}
	fmt.Fprintln(w, "\ncompensations by kind")
	for _, k := range fulfilment.Reasons {
		fmt.Fprintf(w, "  %-26s %6d\n", k, r.Compensations[k])
	}
	fmt.Fprintln(w, "\nrevenue per day")
	for _, d := range slices.Sorted(maps.Keys(r.Snapshot.Revenue)) {
		v := r.Snapshot.Revenue[d]
		fmt.Fprintf(w, "  %-12s %4d orders %14s\n", d, v.Orders, money(v.Revenue))
	}
	fmt.Fprintln(w, "\nshipments by carrier and status")
	for _, k := range slices.Sorted(maps.Keys(r.Snapshot.Carriers)) {
		if c := r.Snapshot.Carriers[k]; c.Shipments != 0 {
			fmt.Fprintf(w, "  %-12s %-10s %6d\n", c.Carrier, c.Status, c.Shipments)
		}
	}
	fmt.Fprintln(w, "\nchecks")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(w, "       %s\n", c.Detail)
		}
	}
	if timing {
		s := r.Elapsed.Seconds()
		fmt.Fprintf(w, "\nthroughput: %d orders and %d events in %s: %.0f orders/s, %.0f events/s\n",
			r.Orders, r.Events, r.Elapsed.Round(time.Millisecond), float64(r.Orders)/s, float64(r.Events)/s)
	}
	if r.Replay != nil {
		r.Replay.Print(w, timing)
	}
	if r.OK() {
		fmt.Fprintln(w, "\nevery invariant holds")
	} else {
		fmt.Fprintln(w, "\nINVARIANTS VIOLATED")
	}
}
