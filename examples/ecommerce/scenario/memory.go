package scenario

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/inbox"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/relay"
	sagamemory "github.com/chronicle-go/chronicle/saga/memory"

	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// MemoryBackend returns the embedded default: the in-memory event store,
// saga store and read models, and a second in-memory store and saga store
// for the logistics context. Nothing survives the process.
func MemoryBackend() Backend {
	store := memory.New(memory.Config{})
	logisticsStore := memory.New(memory.Config{})
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
		Order:     memoryIntegration(store),
		Logistics: LogisticsStorage{Events: logisticsStore, Sagas: sagamemory.New(), Integration: memoryIntegration(logisticsStore)},
	}
}

// memoryIntegration keeps a context's relay state and inbox records in
// memory; its inbox handlers append to the store itself (idempotently: see
// the handlers).
func memoryIntegration(store eventstore.Store) Integration {
	records := inbox.NewMemoryStore()
	return Integration{
		Relays: relay.NewMemoryStore(),
		Inbox: func(c broker.Consumer, cfg inbox.Config, handle func(context.Context, eventstore.Store, broker.Message) error) (InboxRunner, error) {
			return inbox.New(c, records, inbox.HandlerFunc[inbox.MemoryTx](func(ctx context.Context, _ inbox.MemoryTx, m broker.Message) error {
				return handle(ctx, store, m)
			}), cfg)
		},
		Processed: func(_ context.Context, consumer string) (int, error) { return records.Processed(consumer), nil },
	}
}
