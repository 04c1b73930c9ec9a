package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// ledger is W5's aggregate: it folds every line of its stream.
type ledger struct {
	aggregate.Root
	Lines  int   `json:"lines"`
	Amount int64 `json:"amount"`
}

// lineAdded is the payload orderEvents writes ("OrderLineAdded").
type lineAdded struct {
	OrderID string `json:"order_id"`
	Line    int    `json:"line"`
	SKU     string `json:"sku"`
	Qty     int    `json:"qty"`
	Amount  int64  `json:"amount"`
}

func (l *ledger) Apply(e any) {
	if e, ok := e.(lineAdded); ok {
		l.Lines++
		l.Amount += e.Amount
	}
}

// snapshotTail is how many events follow W5's snapshot: a load from the
// snapshot reads them, as a load between two snapshots does.
const snapshotTail = 50

// loadCases are W5: load an aggregate of size events through
// aggregate.Repository, without snapshots (W5a) and from a snapshot taken
// snapshotTail events before the end (W5b). The baseline reads the same
// rows with one query (and the snapshot row with another) and folds the
// payloads with encoding/json. Every load's state is checked.
func (e *env) loadCases(ctx context.Context, size int) ([]*benchCase, error) {
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[lineAdded](registry, "OrderLineAdded")
	const plainID, snapID = "plain", "snap"
	plainStream, snapStream := "ledger-"+plainID, "ledger-"+snapID
	events := map[string][]eventstore.Event{
		plainStream: orderEvents(plainStream, 1, size),
		snapStream:  orderEvents(snapStream, 1, size),
	}
	// The state every load must end with, and the snapshot's.
	var want, atSnap ledger
	snapAt := size - snapshotTail
	for i, ev := range events[snapStream] {
		var l lineAdded
		if err := json.Unmarshal(ev.Data, &l); err != nil {
			return nil, err
		}
		want.Apply(l)
		if i+1 == snapAt {
			atSnap = want
		}
	}
	snapData, err := json.Marshal(&atSnap)
	if err != nil {
		return nil, err
	}
	snapshot := aggregate.Snapshot{Stream: snapStream, Type: "ledger", Version: uint64(snapAt), SchemaVersion: 1,
		Data: snapData, CreatedAt: time.Now().UTC()}

	// Write the streams and the snapshot to every variant (untimed).
	mem := memory.New(memory.Config{})
	memSnaps := &aggregate.MemorySnapshots{}
	for _, stream := range []string{plainStream, snapStream} {
		for _, app := range []appender{storeAppender(e.events), e.baselineAppender(), e.rawpgxAppender(), storeAppender(mem)} {
			var v uint64
			for chunk := range slices.Chunk(events[stream], 1000) {
				next, ok, err := app(ctx, stream, v, chunk)
				if err != nil || !ok {
					return nil, fmt.Errorf("W5 setup: append to %s: ok=%v: %v", stream, ok, err)
				}
				v = next
			}
		}
	}
	if err := e.snapshots.SaveSnapshot(ctx, snapshot); err != nil {
		return nil, err
	}
	if err := memSnaps.SaveSnapshot(ctx, snapshot); err != nil {
		return nil, err
	}
	if _, err := e.pool.Exec(ctx, e.base.saveSnapshot, snapStream, "ledger", int64(snapAt), snapData); err != nil {
		return nil, err
	}

	repo := func(store eventstore.Store, snaps aggregate.SnapshotStore) (*aggregate.Repository[*ledger], error) {
		return aggregate.NewRepository(store, registry, aggregate.Config[*ledger]{Type: "ledger", Snapshots: snaps})
	}
	check := func(l *ledger, version uint64) error {
		if l.Lines != want.Lines || l.Amount != want.Amount || version != uint64(size) {
			return fmt.Errorf("loaded %d lines, amount %d, version %d; want %d, %d, %d",
				l.Lines, l.Amount, version, want.Lines, want.Amount, size)
		}
		return nil
	}
	var cases []*benchCase
	for _, withSnap := range []bool{false, true} {
		c := &benchCase{id: "W5a", title: fmt.Sprintf("load a %d-event aggregate, no snapshot", size), unit: "loads", latency: true}
		id := plainID
		pgSnaps, mSnaps := aggregate.SnapshotStore(nil), aggregate.SnapshotStore(nil)
		if withSnap {
			c.id, c.title = "W5b", fmt.Sprintf("load a %d-event aggregate from a snapshot (+%d events)", size, snapshotTail)
			id, pgSnaps, mSnaps = snapID, e.snapshots, memSnaps
		}
		pgRepo, err := repo(e.events, pgSnaps)
		if err != nil {
			return nil, err
		}
		memRepo, err := repo(mem, mSnaps)
		if err != nil {
			return nil, err
		}
		loads := e.sizes.loads
		timed := func(load func() (*ledger, uint64, error)) roundFunc {
			return func(ctx context.Context, round int) (sample, error) {
				start := time.Now()
				for range loads {
					l, version, err := load()
					if err != nil {
						return sample{}, err
					}
					if err := check(l, version); err != nil {
						return sample{}, err
					}
				}
				return sample{n: loads, elapsed: time.Since(start)}, nil
			}
		}
		c.variants = []variant{
			{name: chronicleVariant, round: timed(repoLoad(ctx, pgRepo, id))},
			{name: baselineVariant, round: timed(func() (*ledger, uint64, error) { return e.baselineLoad(ctx, "ledger-"+id, withSnap) })},
			{name: memoryVariant, round: timed(repoLoad(ctx, memRepo, id))},
		}
		if !withSnap { // the raw shape keeps no snapshots
			c.variants = append(c.variants, variant{name: rawpgxVariant,
				round: timed(func() (*ledger, uint64, error) { return e.rawpgxLoad(ctx, "ledger-"+id) })})
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func repoLoad(ctx context.Context, repo *aggregate.Repository[*ledger], id string) func() (*ledger, uint64, error) {
	return func() (*ledger, uint64, error) {
		l, err := repo.Load(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		return l, l.Version(), nil
	}
}

// baselineLoad folds a ledger's stream by hand: the snapshot row (if
// asked), then one query for the events after it.
func (e *env) baselineLoad(ctx context.Context, stream string, withSnap bool) (*ledger, uint64, error) {
	l := &ledger{}
	var from int64
	if withSnap {
		var data []byte
		if err := e.pool.QueryRow(ctx, e.base.loadSnapshot, stream).Scan(&from, &data); err != nil {
			return nil, 0, fmt.Errorf("baseline: load snapshot: %w", err)
		}
		if err := json.Unmarshal(data, l); err != nil {
			return nil, 0, err
		}
	}
	rows, err := e.pool.Query(ctx, e.base.readStream, stream, from+1)
	if err != nil {
		return nil, 0, err
	}
	version := uint64(from)
	_, err = scanEvents(rows, func(ev eventstore.RecordedEvent) error {
		var v lineAdded
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return err
		}
		l.Apply(v)
		version = ev.Version
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return l, version, nil
}
