// Package aggregatetest tests aggregates as specifications: given the
// events of its past, when a command runs, then these events are recorded —
// or this error is returned.
//
//	func TestShip(t *testing.T) {
//		aggregatetest.For(t, registry, func() *Order { return &Order{} }).
//			Given(OrderPlaced{ID: "1"}, OrderPaid{ID: "1"}).
//			When(func(o *Order) error { return o.Ship() }).
//			Then(OrderShipped{ID: "1"})
//	}
//
// [For] takes object-style aggregates (the command is a function of the
// aggregate); [ForDecider] takes an [aggregate.Decider] (the command is a
// value). Both take the registry the aggregate's repository uses: every
// event, given, wanted or recorded, is encoded and decoded with it, as a
// save and a load would, so an event the store could not hold (a type not
// registered, a field lost in JSON) fails the specification. A failing
// Then or ThenError reports, event by event, what was expected and what was
// recorded.
//
// Projections and sagas have kits of the same shape:
// [github.com/chronicle-go/chronicle/projection/projectiontest] and
// [github.com/chronicle-go/chronicle/saga/sagatest].
//
// The suite for the stores a repository and the command bus run on is
// [github.com/chronicle-go/chronicle/command/commandtest].
package aggregatetest
