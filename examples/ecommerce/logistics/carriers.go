package logistics

import (
	"context"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// CarriersSaga is the saga type name of the carrier simulation.
const CarriersSaga = "carriers"

// CarrierState is the simulation's state for one shipment.
type CarrierState struct {
	OrderID string  `json:"order_id"`
	Address Address `json:"address"`
}

// Carriers returns the carrier simulation: a saga, one instance per
// shipment, that answers each shipment event with the carrier's next scan
// until the parcel is delivered or has failed. events decodes the
// shipment events, commands encodes [Scan].
func Carriers(events, commands *eventstore.Registry) *saga.Definition[CarrierState] {
	d := saga.New[CarrierState](CarriersSaga, saga.Options{Events: events, Commands: commands})
	scan := func(s *saga.Scope[CarrierState], st Status) {
		s.Send(Scan{OrderID: s.State().OrderID, Status: st})
	}
	saga.Start(d, "ShipmentCreated", func(e Created) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], e Created) error {
			*s.State() = CarrierState{OrderID: e.OrderID, Address: e.Address}
			scan(s, StatusPicked)
			return nil
		})
	saga.On(d, "ShipmentPicked", func(e Picked) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], _ Picked) error {
			scan(s, StatusDispatched)
			return nil
		})
	saga.On(d, "ShipmentDispatched", func(e Dispatched) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], _ Dispatched) error {
			scan(s, StatusInTransit)
			return nil
		})
	saga.On(d, "ShipmentInTransit", func(e InTransit) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], _ InTransit) error {
			if !deliverable(s.State().Address) {
				s.Send(Scan{OrderID: s.State().OrderID, Status: StatusFailed, Reason: "recipient unknown"})
				return nil
			}
			scan(s, StatusDelivered)
			return nil
		})
	saga.On(d, "ShipmentDelivered", func(e Delivered) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], _ Delivered) error {
			s.Complete()
			return nil
		})
	saga.On(d, "ShipmentFailed", func(e Failed) string { return e.OrderID },
		func(_ context.Context, s *saga.Scope[CarrierState], _ Failed) error {
			s.Complete()
			return nil
		})
	return d
}
