package command_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// A handler may reload what it saved for the same command: that is not a
// re-send.
func TestReloadInsideTheSameCommand(t *testing.T) {
	store := memory.New(memory.Config{})
	repo := newTallies(store, nil, 0)
	bus := newBus(t, command.Config{Middleware: []command.Middleware{command.Idempotent()}})
	command.MustHandleFunc(bus, func(ctx context.Context, c Count) error {
		for range 2 {
			t, err := repo.LoadOrNew(ctx, c.TallyID)
			if err != nil {
				return err
			}
			_ = t.Add(c.N)
			if _, err := repo.Save(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	res, err := bus.Send(context.Background(), command.New(Count{TallyID: "t", N: 1}))
	if err != nil || res.Replayed || len(res.Appended) != 2 || res.Appended[1].To != 2 || store.Len() != 2 {
		t.Fatalf("result %+v, %v; %d events", res, err, store.Len())
	}
}

// Behind a snapshot and beyond the replay window, a re-sent command that the
// handler now refuses gets the handler's answer — and still appends nothing.
func TestReplayWindow(t *testing.T) {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	snaps := &aggregate.MemorySnapshots{}
	repo, err := aggregate.NewRepository(store, newRegistry(), aggregate.Config[*Tally]{
		Type: "tally", Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(5), ReplayWindow: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	bus := newBus(t, command.Config{Middleware: []command.Middleware{command.Metadata(), command.Idempotent()}})
	tallyHandlers(bus, repo)
	cmd := command.New(Count{TallyID: "w", N: 1})
	if _, err := bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	for range 4 { // versions 2-5, snapshot at 5: the command's event is the 5th counting back from it
		if _, err := bus.Send(ctx, command.New(SetLimit{TallyID: "w", Limit: 1})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bus.Send(ctx, cmd); !errors.Is(err, ErrLimit) {
		t.Fatalf("re-send beyond the window = %v, want the handler's refusal", err)
	}
	// Within the window it is recognised.
	wide, err := aggregate.NewRepository(store, newRegistry(), aggregate.Config[*Tally]{
		Type: "tally", Snapshots: snaps, SnapshotPolicy: aggregate.EveryN(5), ReplayWindow: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	wideBus := newBus(t, command.Config{Middleware: []command.Middleware{command.Metadata(), command.Idempotent()}})
	tallyHandlers(wideBus, wide)
	res, err := wideBus.Send(ctx, cmd)
	if err != nil || !res.Replayed || len(res.Appended) != 1 || res.Appended[0].To != 1 {
		t.Fatalf("re-send within the window = %+v, %v", res, err)
	}
	if store.Len() != 5 {
		t.Fatalf("%d events, want 5", store.Len())
	}
}
