// Package sagatest is the conformance suite every [saga.Store] runs:
// [Run] checks versioned instance writes, atomic commits, fenced
// checkpoints, outbox and deadline claims (order, leases, concurrency,
// including two handles on one storage claiming deadlines at once, as two
// processes would) and the inspection API, each case on a fresh store.
//
//	func TestStore(t *testing.T) {
//		sagatest.Run(t, func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
//			s := newStore(t)
//			return s, func(t *testing.T) saga.Store { return openAnotherHandle(t, s) }
//		})
//	}
package sagatest
