// Package payment is the Payment service of the e-commerce example: it
// charges an order's card, refunds it, and voids an authorisation the
// customer never confirmed.
//
// # Decline rules
//
// The payment provider is simulated with deterministic rules, so a scenario
// replays identically from its seed:
//
//   - card token [TokenDeclined]: declined, "card declined";
//   - an amount above [MaxCharge]: declined, "amount over limit";
//   - card token [TokenThreeDS]: the charge waits for a 3-D Secure
//     confirmation that never comes ([Pending]); the saga's payment
//     deadline then voids it ([Voided]);
//   - anything else: charged.
//
// Each order has one payment, in the stream "payment-<order id>". A refund
// of a payment that was never charged, a second refund, or a void of a
// charged payment records nothing.
package payment
