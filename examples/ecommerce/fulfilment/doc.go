// Package fulfilment is the fulfilment saga of the e-commerce example: it
// takes a placed order through stock, payment and shipment, and undoes the
// completed steps when a later one fails.
//
// # The flow
//
//	OrderPlaced          → ReserveStock (one line at a time)
//	StockReserved        → the next line, or ChargePayment + payment deadline
//	PaymentCharged       → ConfirmOrder, CreateShipment
//	Shipment* (progress) → RecordOrderShipment (the order tracks its parcel)
//	ShipmentDelivered    → CompleteOrder; the saga is completed
//
// # Compensations
//
// A step's compensation is sent, newest first, when the saga fails:
// payment → RefundPayment, each reserved line → ReleaseStock, the order →
// CancelOrder. The saga fails, and its [saga.Instance] Reason says why, on:
//
//   - [ReasonOutOfStock]: StockReservationRejected (release the lines
//     reserved so far, cancel);
//   - [ReasonPaymentDeclined]: PaymentDeclined (release, cancel);
//   - [ReasonShipmentFailed]: ShipmentFailed (refund, release, cancel);
//   - [ReasonDeadlineExpired]: no payment outcome before the deadline. The
//     deadline first sends VoidPayment; the payment service voids a charge
//     still pending, and only that PaymentVoided fails the saga — a charge
//     that went through just before the void is kept and the flow goes on,
//     so money is never taken for a cancelled order.
package fulfilment
