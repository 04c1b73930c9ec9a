package commandtest_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command/commandtest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func TestMemoryBackend(t *testing.T) {
	commandtest.Run(t, func(t *testing.T) commandtest.Backend {
		return commandtest.Backend{Store: memory.New(memory.Config{}), Snapshots: &aggregate.MemorySnapshots{}}
	})
}
