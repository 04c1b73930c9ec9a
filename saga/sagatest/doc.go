// Package sagatest is the conformance suite every [saga.Store] runs:
// [Run] checks versioned instance writes, atomic commits, fenced
// checkpoints, outbox and deadline claims (order, leases, concurrency) and
// the inspection API, each case on a fresh store.
//
//	func TestStore(t *testing.T) {
//		sagatest.Run(t, func(t *testing.T) saga.Store { return newStore(t) })
//	}
package sagatest
