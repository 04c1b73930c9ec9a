package memory_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

func TestStore(t *testing.T) {
	sagatest.Run(t, func(*testing.T) (saga.Store, func(*testing.T) saga.Store) {
		s := memory.New()
		// Every handle of a memory store is the store itself.
		return s, func(*testing.T) saga.Store { return s }
	})
}
