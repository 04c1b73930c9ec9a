// Package scenario runs the e-commerce example end to end: it wires the
// four services, the fulfilment saga, the carrier simulation and the read
// models onto a [Backend] (in memory, or PostgreSQL through the
// sub-package postgres), places a seeded set of orders, waits until every
// saga has ended, and checks the invariants that prove the run: every
// order ended as its seed planned, every saga completed or compensated,
// stock is conserved and never negative, and the money adds up.
//
// # Determinism
//
// [NewPlan] draws every order from the seed: its lines, its card token, its
// address, and so its fate. Failures come from the services' own rules (a
// test card that is declined, an amount over the limit, a card whose 3-D
// Secure check is abandoned, a limited product asked for in a quantity
// that was never in stock, an address no carrier finds), never from timing,
// so the same seed gives the same report.
package scenario
