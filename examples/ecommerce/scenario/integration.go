package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/memory"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/inbox"
	"github.com/chronicle-go/chronicle/relay"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
)

// Between the order context and the logistics context.
//
// Logistics is a bounded context of its own: its own event store (another
// schema on PostgreSQL), its own saga store for the carrier simulation, and
// nothing shared with the order context but integration events on a
// broker. The order context's relay publishes OrderShipmentRequested; the
// logistics inbox books the shipment; the logistics relay publishes the
// shipment's events; the order context's inbox appends them to its own log
// (same event IDs, stream "shipment-<order>"), where the fulfilment saga
// and the read models see them.

// The names of the relays and inbox consumers.
const (
	OrderRelay     = "ecommerce-order"
	LogisticsRelay = "ecommerce-logistics"
	OrderInbox     = "order"
	LogisticsInbox = "logistics"
)

// Transport is the broker the contexts talk through.
type Transport struct {
	// Name is printed in the report ("in-process", "nats", "amqp").
	Name string
	// Publisher returns the publisher of a relay.
	Publisher func(ctx context.Context, relay string) (broker.Publisher, error)
	// Consumer returns the consumer of an inbox's queue, bound to types.
	Consumer func(ctx context.Context, queue string, types []string) (broker.Consumer, error)
	// Close releases the connections.
	Close func()
	// Local is set for an in-process broker: both contexts must then run
	// in one process.
	Local bool
}

// MemoryTransport returns the in-process broker: the embedded default.
func MemoryTransport() *Transport {
	b := memory.New()
	return &Transport{
		Name:      "in-process",
		Local:     true,
		Publisher: func(context.Context, string) (broker.Publisher, error) { return b, nil },
		Consumer: func(_ context.Context, queue string, types []string) (broker.Consumer, error) {
			b.Bind(queue, types...)
			return b.Consumer(queue), nil
		},
		Close: func() { _ = b.Close() },
	}
}

// InboxRunner is a running inbox.
type InboxRunner interface {
	Run(ctx context.Context) error
	Stats() inbox.Stats
}

// Integration is one context's storage for integration events: its relays'
// state and its inbox.
type Integration struct {
	Relays relay.Store
	// Inbox builds an inbox on the context's storage: handle appends
	// through the store it is given, whose appends join the inbox's unit of
	// work (the PostgreSQL transaction that records the message).
	Inbox func(c broker.Consumer, cfg inbox.Config, handle func(ctx context.Context, store eventstore.Store, m broker.Message) error) (InboxRunner, error)
	// Processed counts the messages consumer has processed.
	Processed func(ctx context.Context, consumer string) (int, error)
}

// LogisticsStorage is the logistics context's own storage.
type LogisticsStorage struct {
	Events eventstore.Store
	// Sagas keeps the carrier simulation.
	Sagas saga.Store
	Integration
}

// orderRelayConfig and logisticsRelayConfig say what each context
// publishes.
func orderRelayConfig() relay.Config {
	return relay.Config{Name: OrderRelay, Source: "/ecommerce/order",
		Filter:             eventstore.Filter{EventTypes: []string{logistics.ShipmentRequestedType}},
		CheckpointInterval: 50 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second}
}

func logisticsRelayConfig() relay.Config {
	return relay.Config{Name: LogisticsRelay, Source: "/ecommerce/logistics",
		Filter:             eventstore.Filter{EventTypes: logistics.EventTypes},
		CheckpointInterval: 50 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second}
}

func inboxConfig(name string) inbox.Config {
	return inbox.Config{Name: name, BatchSize: 100, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 20}
}

// bookShipment is the logistics inbox's handler: it books the shipment a
// request asks for, through a command bus on store (whose appends join the
// inbox's transaction), with a command ID derived from the message ID so
// that even outside a transaction the booking is appended once.
func (a *App) bookShipment(ctx context.Context, store eventstore.Store, m broker.Message) error {
	var req logistics.ShipmentRequested
	if err := json.Unmarshal(m.Data, &req); err != nil {
		return fmt.Errorf("logistics: %s %s: %w", m.Type, m.ID, err)
	}
	svc, err := logistics.NewService(store, a.Events)
	if err != nil {
		return err
	}
	bus, err := command.NewBus(command.Config{Middleware: command.DefaultMiddleware(nil)})
	if err != nil {
		return err
	}
	if err := svc.Register(bus); err != nil {
		return err
	}
	_, err = bus.Send(ctx, command.Command{ID: command.DeriveID("logistics-inbox", m.ID), CorrelationID: m.CorrelationID,
		Payload: logistics.Create{OrderID: req.OrderID, Address: req.Address, Items: req.Items}})
	return err
}

// importShipmentEvent is the order context's inbox handler: the shipment's
// event goes into the order context's log as it is, with its own ID (so
// even outside a transaction it is appended once).
func importShipmentEvent(ctx context.Context, store eventstore.Store, m broker.Message) error {
	id, err := uuid.Parse(m.ID)
	if err != nil {
		return fmt.Errorf("order: message ID %q is not an event ID: %w", m.ID, err)
	}
	e := eventstore.Event{ID: id, Type: m.Type, Data: m.Data,
		Metadata: eventstore.Metadata{CorrelationID: m.CorrelationID, CausationID: m.CausationID}}
	_, err = store.Append(ctx, m.Subject, eventstore.Any, e)
	if errors.Is(err, eventstore.ErrDuplicateEventID) {
		return nil
	}
	return err
}

// integration wires the relays and inboxes of this process's roles.
func (a *App) integration(ctx context.Context, t *Transport) error {
	b := a.Backend
	if a.Roles.Has(RoleOrder) {
		pub, err := t.Publisher(ctx, OrderRelay)
		if err != nil {
			return err
		}
		r, err := relay.New(b.Events, b.Order.Relays, pub, orderRelayConfig())
		if err != nil {
			return err
		}
		c, err := t.Consumer(ctx, OrderInbox, logistics.EventTypes)
		if err != nil {
			return err
		}
		in, err := b.Order.Inbox(c, inboxConfig(OrderInbox), importShipmentEvent)
		if err != nil {
			return err
		}
		a.Relays = append(a.Relays, r)
		a.Inboxes = append(a.Inboxes, in)
	}
	if a.Roles.Has(RoleLogistics) {
		pub, err := t.Publisher(ctx, LogisticsRelay)
		if err != nil {
			return err
		}
		r, err := relay.New(b.Logistics.Events, b.Logistics.Relays, pub, logisticsRelayConfig())
		if err != nil {
			return err
		}
		c, err := t.Consumer(ctx, LogisticsInbox, []string{logistics.ShipmentRequestedType})
		if err != nil {
			return err
		}
		in, err := b.Logistics.Inbox(c, inboxConfig(LogisticsInbox), a.bookShipment)
		if err != nil {
			return err
		}
		a.Relays = append(a.Relays, r)
		a.Inboxes = append(a.Inboxes, in)
	}
	return nil
}

// relaysCaughtUp reports whether both relays have published everything.
func (a *App) relaysCaughtUp(ctx context.Context) (bool, error) {
	for _, st := range []struct {
		store relay.Store
		log   eventstore.Store
		name  string
	}{{a.Backend.Order.Relays, a.Backend.Events, OrderRelay}, {a.Backend.Logistics.Relays, a.Backend.Logistics.Events, LogisticsRelay}} {
		recs, err := st.store.Records(ctx)
		if err != nil {
			return false, err
		}
		found := false
		for _, r := range recs {
			if r.Name != st.name {
				continue
			}
			found = true
			s, err := relay.Describe(ctx, st.log, r)
			if err != nil {
				return false, err
			}
			if s[0].LagEvents > 0 {
				return false, nil
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// checkIntegration checks that every integration event was published once
// and consumed with its effect applied once, in both directions, against
// the two logs, the relays' records and the inboxes' records.
func (a *App) checkIntegration(ctx context.Context, r *Report) error {
	b := a.Backend
	requests := map[string]bool{}
	imported := map[string]int{}
	for e, err := range b.Events.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return err
		}
		switch {
		case e.Type == logistics.ShipmentRequestedType:
			requests[e.ID.String()] = true
		case isShipmentType(e.Type):
			imported[e.ID.String()]++
		}
	}
	created := map[string]int{} // per order
	shipped := map[string]bool{}
	for e, err := range b.Logistics.Events.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return err
		}
		if !isShipmentType(e.Type) {
			continue
		}
		shipped[e.ID.String()] = true
		if e.Type == "ShipmentCreated" {
			created[e.StreamID]++
		}
	}
	var bad []string
	orderRec, err := relayRecord(ctx, b.Order.Relays, OrderRelay)
	if err != nil {
		return err
	}
	logRec, err := relayRecord(ctx, b.Logistics.Relays, LogisticsRelay)
	if err != nil {
		return err
	}
	for _, x := range []struct {
		rec  relay.Record
		want int
	}{{orderRec, len(requests)}, {logRec, len(shipped)}} {
		if x.rec.Published != uint64(x.want) || x.rec.Parked > 0 {
			bad = append(bad, fmt.Sprintf("relay %s published %d of %d events, %d parked", x.rec.Name, x.rec.Published, x.want, x.rec.Parked))
		}
	}
	booked, err := b.Logistics.Processed(ctx, LogisticsInbox)
	if err != nil {
		return err
	}
	applied, err := b.Order.Processed(ctx, OrderInbox)
	if err != nil {
		return err
	}
	if booked != len(requests) {
		bad = append(bad, fmt.Sprintf("the logistics inbox processed %d of %d shipment requests", booked, len(requests)))
	}
	if len(created) != len(requests) {
		bad = append(bad, fmt.Sprintf("%d shipments booked for %d requests", len(created), len(requests)))
	}
	for stream, n := range created {
		if n != 1 {
			bad = append(bad, fmt.Sprintf("%s booked %d times", stream, n))
		}
	}
	if applied != len(shipped) {
		bad = append(bad, fmt.Sprintf("the order inbox processed %d of %d shipment events", applied, len(shipped)))
	}
	for id := range shipped {
		if imported[id] != 1 {
			bad = append(bad, fmt.Sprintf("shipment event %s is in the order log %d times", id, imported[id]))
		}
	}
	if len(imported) != len(shipped) {
		bad = append(bad, fmt.Sprintf("the order log holds %d shipment events, logistics recorded %d", len(imported), len(shipped)))
	}
	var dups uint64
	for _, in := range a.Inboxes {
		dups += in.Stats().Duplicates
	}
	if len(bad) > 5 {
		bad = bad[:5]
	}
	r.Integration = IntegrationReport{Transport: a.Transport.Name, Requests: len(requests), ShipmentEvents: len(shipped), Duplicates: dups}
	r.add("integration events over "+a.Transport.Name+": each published once, its effect applied once",
		len(bad) == 0,
		fmt.Sprintf("order → logistics: %d requests published, %d shipments booked; logistics → order: %d shipment events published, %d applied; %d redeliveries recognised%s",
			orderRec.Published, len(created), logRec.Published, len(imported), dups, details(bad)))
	return nil
}

// IntegrationReport is what crossed the broker in a run.
type IntegrationReport struct {
	Transport      string
	Requests       int
	ShipmentEvents int
	// Duplicates counts deliveries the inboxes of this process recognised
	// as already processed.
	Duplicates uint64
}

func isShipmentType(t string) bool {
	for _, x := range logistics.EventTypes {
		if t == x {
			return true
		}
	}
	return false
}

func relayRecord(ctx context.Context, s relay.Store, name string) (relay.Record, error) {
	recs, err := s.Records(ctx)
	if err != nil {
		return relay.Record{}, err
	}
	for _, r := range recs {
		if r.Name == name {
			return r, nil
		}
	}
	return relay.Record{Name: name}, nil
}
