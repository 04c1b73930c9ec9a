// Package logistics is the Logistics service of the e-commerce example:
// shipments that are created, picked, dispatched, in transit, and then
// delivered or failed, with several carriers.
//
// # Shipments
//
// Each order has at most one shipment, in the stream "shipment-<order id>".
// [CarrierFor] picks the carrier from the destination country. The carriers
// report progress as scans ([Scan]); the aggregate accepts each status only
// after the one before it, ignores a repeated or older scan, and refuses a
// scan that skips a stage.
//
// # The carriers
//
// The real carriers are outside the system; [Carriers] simulates them as a
// saga of its own that reacts to each shipment event with the next scan. A
// parcel addressed to [UndeliverableStreet] fails at the door ("recipient
// unknown"); every other parcel is delivered. The outcome depends on the
// order's data only, so a scenario replays identically from its seed.
package logistics
