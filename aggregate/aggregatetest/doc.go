// Package aggregatetest tests aggregates as specifications: given the
// events of its past, when a command runs, then these events are recorded —
// or this error is returned.
//
//	func TestShip(t *testing.T) {
//		aggregatetest.For(t, func() *Order { return &Order{} }).
//			Given(OrderPlaced{ID: "1"}, OrderPaid{ID: "1"}).
//			When(func(o *Order) error { return o.Ship() }).
//			Then(OrderShipped{ID: "1"})
//	}
//
// [For] takes object-style aggregates (the command is a function of the
// aggregate); [ForDecider] takes an [aggregate.Decider] (the command is a
// value). A failing Then or ThenError reports, event by event, what was
// expected and what was recorded.
//
// # Backends
//
// [RunBackend] is a suite for the stores an aggregate repository and the
// command bus run on: concurrent commands on one aggregate with conflict
// retry, idempotent re-sends, loading from snapshots and ignoring stale
// ones. The memory store and the PostgreSQL store run it.
package aggregatetest
