package logistics

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Status is a shipment's stage.
type Status string

// The stages of a shipment, in order; delivered and failed are final.
const (
	StatusCreated    Status = "created"
	StatusPicked     Status = "picked"
	StatusDispatched Status = "dispatched"
	StatusInTransit  Status = "in_transit"
	StatusDelivered  Status = "delivered"
	StatusFailed     Status = "failed"
)

var stages = []Status{StatusCreated, StatusPicked, StatusDispatched, StatusInTransit, StatusDelivered}

// Final reports whether s ends a shipment.
func (s Status) Final() bool { return s == StatusDelivered || s == StatusFailed }

// Carriers by destination country; [CarrierFor] falls back to DHL.
var carriers = map[string]string{"NL": "PostNL", "BE": "DPD", "DE": "DHL", "FR": "Colissimo", "US": "UPS", "GB": "Royal Mail"}

// CarrierFor returns the carrier that serves country.
func CarrierFor(country string) string {
	if c, ok := carriers[country]; ok {
		return c
	}
	return "DHL"
}

// UndeliverableStreet is an address no carrier finds: its parcels fail.
const UndeliverableStreet = "1 Nowhere Lane"

// Errors of the shipment's invariants.
var (
	ErrExists       = errors.New("logistics: shipment already exists")
	ErrNoShipment   = errors.New("logistics: no such shipment")
	ErrSkippedStage = errors.New("logistics: scan skips a stage")
)

// Shipment is the shipment aggregate of one order.
type Shipment struct {
	aggregate.Root
	Status  Status
	Carrier string
}

// ShipmentID returns the shipment ID of an order.
func ShipmentID(orderID string) string { return "shp-" + orderID }

// Create books the shipment; booking again records nothing.
func (s *Shipment) Create(c Create) error {
	if s.Status != "" {
		return nil
	}
	aggregate.Record(s, Created{ShipmentID: ShipmentID(c.OrderID), OrderID: c.OrderID,
		Carrier: CarrierFor(c.Address.Country), Address: c.Address, Items: c.Items})
	return nil
}

// Scan moves the shipment to the next stage (or to failed from any stage
// after created); older or repeated scans record nothing.
func (s *Shipment) Scan(c Scan) error {
	if s.Status == "" {
		return ErrNoShipment
	}
	if s.Status.Final() {
		return nil
	}
	p := Progress{ShipmentID: ShipmentID(s.AggregateID()), OrderID: s.AggregateID(), Carrier: s.Carrier}
	if c.Status == StatusFailed {
		aggregate.Record(s, Failed{Progress: p, Reason: c.Reason})
		return nil
	}
	cur, next := slices.Index(stages, s.Status), slices.Index(stages, c.Status)
	switch {
	case next < 0:
		return fmt.Errorf("logistics: unknown status %q", c.Status)
	case next <= cur:
		return nil
	case next > cur+1:
		return fmt.Errorf("%w: %s after %s", ErrSkippedStage, c.Status, s.Status)
	}
	switch c.Status {
	case StatusPicked:
		aggregate.Record(s, Picked{p})
	case StatusDispatched:
		aggregate.Record(s, Dispatched{p})
	case StatusInTransit:
		aggregate.Record(s, InTransit{p})
	case StatusDelivered:
		aggregate.Record(s, Delivered{p})
	}
	return nil
}

// Apply evolves the shipment by one event.
func (s *Shipment) Apply(e any) {
	switch e := e.(type) {
	case Created:
		s.Status, s.Carrier = StatusCreated, e.Carrier
	case Picked:
		s.Status = StatusPicked
	case Dispatched:
		s.Status = StatusDispatched
	case InTransit:
		s.Status = StatusInTransit
	case Delivered:
		s.Status = StatusDelivered
	case Failed:
		s.Status = StatusFailed
	}
}

// deliverable reports whether a carrier finds the address.
func deliverable(a Address) bool { return a.Street != UndeliverableStreet }
