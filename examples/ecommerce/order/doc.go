// Package order is the Order service of the e-commerce example: an order is
// placed, confirmed once paid, completed once delivered or cancelled by a
// compensation, and tracks its shipment's status on the way.
//
// # Events and commands
//
// The service owns the stream "order-<id>". Its commands ([Place],
// [Confirm], [Cancel], [RecordShipment], [Complete]) arrive through a
// [command.Bus]; its events ([Placed], [Confirmed], [Cancelled],
// [ShipmentUpdated], [Completed]) are the only thing other services see.
// Commands that repeat what already happened (a second cancel) record
// nothing, so a saga may send them again safely.
//
// [command.Bus]: https://pkg.go.dev/github.com/chronicle-go/chronicle/command#Bus
package order
