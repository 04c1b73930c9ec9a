// Package snapshottest is the conformance suite every
// [aggregate.SnapshotStore] runs: the executable form of the rule in the
// interface's documentation, so that the memory and the PostgreSQL stores
// (and any other) accept, refuse and round-trip exactly the same things.
//
//	func TestSnapshotConformance(t *testing.T) {
//		snapshottest.Run(t, func(t *testing.T) aggregate.SnapshotStore {
//			return &aggregate.MemorySnapshots{}
//		})
//	}
//
// Every case is a named subtest, given a new, empty store.
package snapshottest
