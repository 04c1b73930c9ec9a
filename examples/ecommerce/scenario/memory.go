package scenario

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/projection"
	sagamemory "github.com/chronicle-go/chronicle/saga/memory"

	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// MemoryBackend returns the embedded default: the in-memory event store,
// saga store and read models. Nothing survives the process.
func MemoryBackend() Backend {
	store := memory.New(memory.Config{})
	return Backend{
		Name:   "memory",
		Events: store,
		Sagas:  sagamemory.New(),
		ReadModels: func(events *eventstore.Registry, cfg projection.Config) (readmodel.Store, error) {
			return readmodel.NewMemory(store, events, cfg)
		},
		PollInterval: 20 * time.Millisecond,
		Inbox: func(name, prefix string, types []string, handle func(context.Context, eventstore.RecordedEvent) error, cfg projection.Config) (Consumer, error) {
			return NewInbox(store, projection.NewMemoryStore(), name, prefix, types, handle, cfg)
		},
	}
}
