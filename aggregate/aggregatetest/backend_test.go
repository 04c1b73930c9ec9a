package aggregatetest_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/aggregate/aggregatetest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func TestMemoryBackend(t *testing.T) {
	aggregatetest.RunBackend(t, func(t *testing.T) aggregatetest.Backend {
		return aggregatetest.Backend{Store: memory.New(memory.Config{}), Snapshots: &aggregate.MemorySnapshots{}}
	})
}
