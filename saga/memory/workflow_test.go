package memory_test

import (
	"testing"

	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/memory"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

func TestWorkflow(t *testing.T) {
	sagatest.RunWorkflow(t, sagatest.WorkflowEnv{
		Events: func(t *testing.T) eventstore.Store {
			s := esmemory.New(esmemory.Config{})
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		Store: func(*testing.T) (saga.Store, func(*testing.T) saga.Store) {
			s := memory.New()
			return s, func(*testing.T) saga.Store { return s }
		},
		Orders: 200,
	})
}
