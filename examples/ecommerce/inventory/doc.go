// Package inventory is the Inventory service of the e-commerce example:
// products with stock, reserved for orders and released again when an
// order is compensated.
//
// # Invariants
//
// Each product is an aggregate in the stream "product-<sku>". Available
// stock never goes negative: a reservation larger than what is available is
// refused with a [ReservationRejected] event (a business outcome the saga
// reacts to), never an error. A reservation is held per order: reserving
// again for the same order, or releasing twice, records nothing, so
// compensations may be re-sent safely. For every product,
//
//	initial stock − reserved + released = available
//
// holds after every event.
package inventory
