package console

import (
	"context"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/relay"
)

// RelayStore adapts a [relay.Store] (the memory one, or any other) to
// [Relays]: its records, with their lag counted on events by
// [relay.Describe]. console/postgres reads the relay tables itself.
func RelayStore(events eventstore.Store, store relay.Store) Relays {
	return relayStore{events: events, store: store}
}

type relayStore struct {
	events eventstore.Store
	store  relay.Store
}

func (r relayStore) Relays(ctx context.Context) ([]RelayStatus, error) {
	recs, err := r.store.Records(ctx)
	if err != nil {
		return nil, err
	}
	st, err := relay.Describe(ctx, r.events, recs...)
	if err != nil {
		return nil, err
	}
	out := make([]RelayStatus, len(st))
	for i, s := range st {
		out[i] = RelayStatus{Name: s.Name, Position: s.Checkpoint, Head: s.Head, Published: s.Published,
			LagEvents: s.LagEvents, LagAtLeast: s.LagAtLeast, Lag: s.Lag, Owned: s.Owned, Owner: s.Owner,
			Parked: s.Parked, LastError: s.LastError}
	}
	return out, nil
}
