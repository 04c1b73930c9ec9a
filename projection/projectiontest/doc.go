// Package projectiontest is the conformance suite every
// [projection.CheckpointStore] runs: claims are exclusive, a commit applies
// the read-model writes and the checkpoint together or not at all, writes are
// fenced on the checkpoint, failures are recorded and only an operator's skip
// or retry moves past them, resets empty the read model with the checkpoint.
//
//	func TestCheckpointStore(t *testing.T) {
//		projectiontest.Run(t, func(t *testing.T) (projection.CheckpointStore[*projection.MemoryTx], projectiontest.Model[*projection.MemoryTx]) {
//			...
//		})
//	}
package projectiontest
