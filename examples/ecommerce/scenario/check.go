package scenario

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/payment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// Check gathers the report of a settled run of plan and checks its
// invariants against three independent sources: the sagas' records, the
// read models, and the services' own aggregates and events.
func (a *App) Check(ctx context.Context, plan Plan) (*Report, error) {
	r := &Report{Backend: a.Backend.Name, Orders: len(plan.Orders), ByState: map[string]int{}, Compensations: map[string]int{}}
	snap, err := a.ReadModels.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	r.Snapshot = snap
	if err := a.checkSagas(ctx, r, plan, snap); err != nil {
		return nil, err
	}
	if err := a.checkStock(ctx, r, plan, snap); err != nil {
		return nil, err
	}
	if err := a.checkMoney(ctx, r, snap); err != nil {
		return nil, err
	}
	checkShipments(r, snap)
	if err := a.checkIntegration(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (a *App) checkSagas(ctx context.Context, r *Report, plan Plan, snap readmodel.Snapshot) error {
	instances, err := allInstances(ctx, a.Fulfilment)
	if err != nil {
		return err
	}
	var bad []string
	byStatus := map[saga.Status]int{}
	for _, in := range instances {
		byStatus[in.Status]++
		if in.Status == saga.Compensated {
			r.Compensations[in.Reason]++
		}
	}
	ended := byStatus[saga.Completed] + byStatus[saga.Compensated]
	r.add("every fulfilment saga ended completed or compensated",
		ended == len(plan.Orders) && len(instances) == ended,
		fmt.Sprintf("%d completed, %d compensated of %d orders", byStatus[saga.Completed], byStatus[saga.Compensated], len(plan.Orders)))

	byID := make(map[string]saga.Instance, len(instances))
	for _, in := range instances {
		byID[in.ID] = in
	}
	met := 0
	for _, o := range plan.Orders {
		s, in := snap.Orders[o.Place.OrderID], byID[o.Place.OrderID]
		r.ByState[s.Status]++
		var ok bool
		if o.Fate == FateCompleted {
			ok = s.Status == string(order.StatusCompleted) && s.Tracking == string(logistics.StatusDelivered) && in.Status == saga.Completed
		} else {
			ok = s.Status == string(order.StatusCancelled) && s.Reason == string(o.Fate) && in.Status == saga.Compensated && in.Reason == string(o.Fate)
		}
		if ok {
			met++
		} else if len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("%s planned %s, ended %s/%s (saga %s %s)", o.Place.OrderID, o.Fate, s.Status, s.Reason, in.Status, in.Reason))
		}
	}
	r.add("every order ended as its seed planned", met == len(plan.Orders),
		fmt.Sprintf("%d/%d%s", met, len(plan.Orders), details(bad)))

	var problems []string
	for _, e := range []*saga.Engine{a.Fulfilment, a.Carriers} {
		parked, err := e.Parked(ctx)
		if err != nil {
			return err
		}
		failing, err := e.FailingCommands(ctx)
		if err != nil {
			return err
		}
		if len(parked) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d parked events (first: %s)", e.Name(), len(parked), parked[0].Error))
		}
		if n := len(failing); n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d commands still failing (first: %s)", e.Name(), n, failing[0].LastError))
		}
	}
	carriers, err := a.Carriers.Count(ctx)
	if err != nil {
		return err
	}
	if carriers[saga.Completed] != len(snap.Shipments) || len(carriers) > 1 {
		problems = append(problems, fmt.Sprintf("carrier simulations %v for %d shipments", carriers, len(snap.Shipments)))
	}
	detail := fmt.Sprintf("0 parked events, 0 failing commands, %d carrier journeys ended", carriers[saga.Completed])
	if len(problems) > 0 {
		detail = strings.Join(problems, "; ")
	}
	r.add("nothing parked, no command failing, every parcel's journey ended", len(problems) == 0, detail)
	return nil
}

func allInstances(ctx context.Context, e *saga.Engine) ([]saga.Instance, error) {
	var out []saga.Instance
	after := ""
	for {
		page, err := e.Instances(ctx, saga.Query{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

func (a *App) checkStock(ctx context.Context, r *Report, plan Plan, snap readmodel.Snapshot) error {
	sold := map[string]int{}
	for _, o := range plan.Orders {
		if snap.Orders[o.Place.OrderID].Status == string(order.StatusCompleted) {
			for _, l := range o.Place.Lines {
				sold[l.SKU] += l.Qty
			}
		}
	}
	var bad []string
	for _, p := range plan.Products {
		s, ok := snap.Stock[p.SKU]
		prod, err := a.Inventory.Products.Load(ctx, p.SKU)
		if err != nil {
			return err
		}
		r.Stock.SKUs++
		r.Stock.Initial += s.Initial
		r.Stock.Reserved += s.Reserved
		r.Stock.Released += s.Released
		r.Stock.Available += s.Available
		switch {
		case !ok:
			bad = append(bad, p.SKU+" has no stock level")
		case s.Initial != p.Stock:
			bad = append(bad, fmt.Sprintf("%s initial %d, seeded %d", p.SKU, s.Initial, p.Stock))
		case s.Initial-s.Reserved+s.Released != s.Available:
			bad = append(bad, fmt.Sprintf("%s: %d − %d + %d ≠ %d", p.SKU, s.Initial, s.Reserved, s.Released, s.Available))
		case s.Available < 0 || prod.Available < 0:
			bad = append(bad, fmt.Sprintf("%s is negative (%d)", p.SKU, min(s.Available, prod.Available)))
		case prod.Available != s.Available:
			bad = append(bad, fmt.Sprintf("%s: the read model says %d available, the product aggregate %d", p.SKU, s.Available, prod.Available))
		case s.Reserved-s.Released != sold[p.SKU]:
			bad = append(bad, fmt.Sprintf("%s: %d units kept, completed orders hold %d", p.SKU, s.Reserved-s.Released, sold[p.SKU]))
		}
	}
	st := r.Stock
	r.add("stock conservation: initial − reserved + released = available, none negative, kept = sold",
		len(bad) == 0 && len(snap.Stock) == len(plan.Products),
		fmt.Sprintf("%d − %d + %d = %d over %d SKUs%s", st.Initial, st.Reserved, st.Released, st.Available, st.SKUs, details(bad)))
	return nil
}

func (a *App) checkMoney(ctx context.Context, r *Report, snap readmodel.Snapshot) error {
	for e, err := range a.Backend.Events.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return err
		}
		r.Events++
		switch e.Type {
		case "PaymentCharged":
			c, err := eventstore.Decode[payment.Charged](a.Events, e)
			if err != nil {
				return err
			}
			r.Money.Charged += c.Amount
		case "PaymentRefunded":
			c, err := eventstore.Decode[payment.Refunded](a.Events, e)
			if err != nil {
				return err
			}
			r.Money.Refunded += c.Amount
		}
	}
	for _, d := range snap.Revenue {
		r.Money.Revenue += d.Revenue
	}
	var completed int64
	for _, o := range snap.Orders {
		if o.Status == string(order.StatusCompleted) {
			completed += o.Total
		}
	}
	m := r.Money
	r.add("money: charged − refunded = revenue = completed orders' totals",
		m.Charged-m.Refunded == m.Revenue && m.Revenue == completed,
		fmt.Sprintf("%s − %s = %s (completed orders: %s)", money(m.Charged), money(m.Refunded), money(m.Revenue), money(completed)))
	return nil
}

func checkShipments(r *Report, snap readmodel.Snapshot) {
	counted, delivered := 0, 0
	for _, c := range snap.Carriers {
		counted += c.Shipments
		if c.Shipments < 0 {
			counted = -1 << 30
		}
	}
	for _, s := range snap.Shipments {
		if s.Status == string(logistics.StatusDelivered) {
			delivered++
		}
	}
	carriers := map[string]bool{}
	for _, s := range snap.Shipments {
		carriers[s.Carrier] = true
	}
	r.add("shipments by carrier and status add up; delivered = completed orders",
		counted == len(snap.Shipments) && delivered == r.ByState[string(order.StatusCompleted)],
		fmt.Sprintf("%d shipments over %d carriers (%s), %d delivered", len(snap.Shipments), len(carriers),
			strings.Join(slices.Sorted(maps.Keys(carriers)), ", "), delivered))
}

func details(bad []string) string {
	if len(bad) == 0 {
		return ""
	}
	return "; " + strings.Join(bad, "; ")
}

func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	units := fmt.Sprint(cents / 100)
	for i := len(units) - 3; i > 0; i -= 3 {
		units = units[:i] + "," + units[i:]
	}
	return fmt.Sprintf("%s%s.%02d", sign, units, cents%100)
}
