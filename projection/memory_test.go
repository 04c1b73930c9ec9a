package projection_test

import (
	"context"
	"testing"

	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/projection/projectiontest"
)

func TestMemoryStoreConformance(t *testing.T) {
	projectiontest.Run(t, func(t *testing.T) (projection.CheckpointStore[*projection.MemoryTx], projectiontest.Model[*projection.MemoryTx]) {
		s := projection.NewMemoryStore()
		keys := projection.NewTable[string, bool](s)
		return s, projectiontest.Model[*projection.MemoryTx]{
			Write: func(ctx context.Context, tx *projection.MemoryTx, k string) error { keys.Put(tx, k, true); return nil },
			Has:   func(t testing.TB, k string) bool { _, ok := keys.Get(k); return ok },
			Reset: func(ctx context.Context, tx *projection.MemoryTx) error { keys.Clear(tx); return nil },
		}
	})
}
