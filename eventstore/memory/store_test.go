package memory_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func newStore(t *testing.T) eventstore.Store {
	s := memory.New(memory.Config{})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	eventstoretest.Run(t, newStore)
}
