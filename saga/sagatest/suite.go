package sagatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

// Run runs the suite. newStore returns a fresh, empty store per case, and a
// function that opens another handle to the same storage, as a second
// process would (a store kept in memory returns itself).
func Run(t *testing.T, newStore func(t *testing.T) (saga.Store, func(t *testing.T) saga.Store)) {
	one := func(fn func(*testing.T, saga.Store)) func(*testing.T, saga.Store, func(*testing.T) saga.Store) {
		return func(t *testing.T, s saga.Store, _ func(*testing.T) saga.Store) { fn(t, s) }
	}
	cases := []struct {
		name string
		fn   func(t *testing.T, s saga.Store, open func(*testing.T) saga.Store)
	}{
		{"InstanceVersions", one(instanceVersions)},
		{"CommitIsAtomic", one(commitIsAtomic)},
		{"CheckpointFencing", one(checkpointFencing)},
		{"CommandReservationsInOrder", one(commandReservationsInOrder)},
		{"CommandRetries", one(commandRetries)},
		{"ConcurrentReservations", one(concurrentReservations)},
		{"CompensatedWhenLastSent", one(compensatedWhenLastSent)},
		{"RefusedCommands", one(refusedCommands)},
		{"Unparked", one(unparked)},
		{"Deadlines", one(deadlines)},
		{"ConcurrentDeadlineReservationsAcrossHandles", concurrentDeadlineReservations},
		{"Inspection", one(inspection)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, open := newStore(t)
			c.fn(t, s, open)
		})
	}
}

const name = "suite"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func inst(id string, status saga.Status, state string) saga.Instance {
	return saga.Instance{Saga: name, ID: id, Status: status, State: []byte(state), StartedAt: t0, UpdatedAt: t0}
}

func cmd(instance string, seq int64, typ string) saga.Command {
	return saga.Command{ID: saga.CommandID(name, instance, seq), Saga: name, Instance: instance, Seq: seq, Type: typ,
		Data: []byte(`{"n":` + fmt.Sprint(seq) + `}`), CreatedAt: t0, NextAttempt: t0}
}

func create(t *testing.T, s saga.Store, ids ...string) {
	t.Helper()
	var c saga.Commit
	c.Saga = name
	for _, id := range ids {
		c.Instances = append(c.Instances, saga.InstanceWrite{Instance: inst(id, saga.Running, `{}`)})
	}
	require.NoError(t, s.Commit(t.Context(), c))
}

func instanceVersions(t *testing.T, s saga.Store) {
	ctx := t.Context()
	i := inst("a", saga.Running, `{"x":1}`)
	i.Steps, i.Seq, i.Position = []string{"one", "two"}, 7, eventstore.Position{Commit: 9, Prepare: 3}
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Instances: []saga.InstanceWrite{{Instance: i}}}))

	got, err := s.Load(ctx, name, []string{"a", "missing"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	a := got["a"]
	assert.Equal(t, int64(1), a.Version)
	assert.Equal(t, saga.Running, a.Status)
	assert.JSONEq(t, `{"x":1}`, string(a.State))
	assert.Equal(t, []string{"one", "two"}, a.Steps)
	assert.Equal(t, int64(7), a.Seq)
	assert.Equal(t, eventstore.Position{Commit: 9, Prepare: 3}, a.Position)
	assert.True(t, a.StartedAt.Equal(t0))

	// Creating it again is a conflict.
	err = s.Commit(ctx, saga.Commit{Saga: name, Instances: []saga.InstanceWrite{{Instance: i}}})
	require.ErrorIs(t, err, saga.ErrConflict)
	ce, ok := errors.AsType[*saga.ConflictError](err)
	require.True(t, ok, "want *saga.ConflictError, got %T", err)
	assert.Equal(t, "a", ce.Instance)

	// Updating from version 1 works once.
	a.State, a.Status = []byte(`{"x":2}`), saga.Completed
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Instances: []saga.InstanceWrite{{Instance: a, Expected: 1}}}))
	err = s.Commit(ctx, saga.Commit{Saga: name, Instances: []saga.InstanceWrite{{Instance: a, Expected: 1}}})
	require.ErrorIs(t, err, saga.ErrConflict)
	got, err = s.Load(ctx, name, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), got["a"].Version)
	assert.Equal(t, saga.Completed, got["a"].Status)
	assert.JSONEq(t, `{"x":2}`, string(got["a"].State))

	// Another saga type does not see it.
	other, err := s.Load(ctx, "other", []string{"a"})
	require.NoError(t, err)
	assert.Empty(t, other)
}

func commitIsAtomic(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a", "b")
	// A commit that updates b correctly but a with a stale version writes
	// nothing at all: not b, not the command, not the deadline, not history.
	b := inst("b", saga.Completed, `{"b":2}`)
	a := inst("a", saga.Completed, `{"a":2}`)
	err := s.Commit(ctx, saga.Commit{
		Saga:      name,
		Instances: []saga.InstanceWrite{{Instance: b, Expected: 1}, {Instance: a, Expected: 5}},
		Commands:  []saga.Command{cmd("b", 1, "Cmd")},
		Schedule:  []saga.Deadline{{Instance: "b", Name: "d", DueAt: t0}},
		History:   []saga.HistoryEntry{{Instance: "b", At: t0, Kind: saga.StatusChanged, Detail: "x"}},
	})
	require.ErrorIs(t, err, saga.ErrConflict)
	h, err := s.History(ctx, name, "b")
	require.NoError(t, err)
	assert.Equal(t, int64(1), h.Instance.Version)
	assert.Equal(t, saga.Running, h.Instance.Status)
	assert.Empty(t, h.Commands)
	assert.Empty(t, h.Deadlines)
	assert.Empty(t, h.Entries)
	reserved, err := s.ReserveCommands(ctx, name, t0, time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, reserved)
}

func checkpointFencing(t *testing.T, s saga.Store) {
	ctx := t.Context()
	pos, err := s.Checkpoint(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Start, pos)

	l1, err := s.Acquire(ctx, name)
	require.NoError(t, err)
	p1 := eventstore.Position{Commit: 5, Prepare: 5}
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Checkpoint: &saga.CheckpointWrite{Position: p1, Token: l1.Token()}}))
	pos, err = s.Checkpoint(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, p1, pos)

	// A second acquirer waits while the lease is held.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = s.Acquire(short, name)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan saga.Lease, 1)
	go func() {
		l, err := s.Acquire(ctx, name)
		if err != nil {
			got <- nil
			return
		}
		got <- l
	}()
	require.NoError(t, l1.Release(ctx))
	l2 := <-got
	require.NotNil(t, l2)
	defer l2.Release(context.WithoutCancel(ctx))
	assert.Greater(t, l2.Token(), l1.Token())

	// The old holder is fenced: its checkpoint write and everything with
	// it is refused.
	create(t, s, "a")
	err = s.Commit(ctx, saga.Commit{Saga: name,
		Instances:  []saga.InstanceWrite{{Instance: inst("a", saga.Completed, `{}`), Expected: 1}},
		Checkpoint: &saga.CheckpointWrite{Position: eventstore.Position{Commit: 9, Prepare: 9}, Token: l1.Token()}})
	require.ErrorIs(t, err, saga.ErrLeaseLost)
	loaded, err := s.Load(ctx, name, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), loaded["a"].Version)
	pos, err = s.Checkpoint(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, p1, pos)

	p2 := eventstore.Position{Commit: 7, Prepare: 7}
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Checkpoint: &saga.CheckpointWrite{Position: p2, Token: l2.Token()}}))
	pos, err = s.Checkpoint(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, p2, pos)
}

func ids(cs []saga.Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s%d", c.Instance, c.Seq))
	}
	slices.Sort(out)
	return out
}

func commandReservationsInOrder(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a", "b")
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name,
		Commands: []saga.Command{cmd("a", 1, "A1"), cmd("a", 2, "A2"), cmd("a", 3, "A3"), cmd("b", 1, "B1")}}))

	// Only the oldest unsent command of each instance is handed out.
	c1, err := s.ReserveCommands(ctx, name, t0, time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a1", "b1"}, ids(c1))
	for _, c := range c1 {
		assert.Equal(t, 1, c.Attempts)
		assert.Equal(t, saga.CommandID(name, c.Instance, c.Seq), c.ID)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, c.Seq), string(c.Data))
	}
	// Reserved rows stay reserved; a1 blocks a2.
	c2, err := s.ReserveCommands(ctx, name, t0.Add(time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, c2)

	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{c1[0].ID, c1[1].ID}, t0.Add(time.Second)))
	c3, err := s.ReserveCommands(ctx, name, t0.Add(time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a2"}, ids(c3))

	// An expired reservation (its holder died) hands the row out again, with the
	// same ID.
	c4, err := s.ReserveCommands(ctx, name, t0.Add(2*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a2"}, ids(c4))
	assert.Equal(t, c3[0].ID, c4[0].ID)
	assert.Equal(t, 2, c4[0].Attempts)

	// Marking sent twice is harmless.
	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{c4[0].ID}, t0.Add(2*time.Minute)))
	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{c4[0].ID}, t0.Add(3*time.Minute)))
	h, err := s.History(ctx, name, "a")
	require.NoError(t, err)
	require.Len(t, h.Commands, 3)
	assert.True(t, h.Commands[1].SentAt.Equal(t0.Add(2*time.Minute)))
	assert.False(t, h.Commands[2].Sent())
}

func commandRetries(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a")
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Commands: []saga.Command{cmd("a", 1, "A1")}}))
	c, err := s.ReserveCommands(ctx, name, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, c, 1)
	require.NoError(t, s.MarkFailed(ctx, name, c[0].ID, "bus down", t0.Add(10*time.Second)))

	failing, err := s.FailingCommands(ctx, name)
	require.NoError(t, err)
	require.Len(t, failing, 1)
	assert.Equal(t, "bus down", failing[0].LastError)
	assert.Equal(t, 1, failing[0].Attempts)

	// Not before its retry time (the lease was released, the back-off holds).
	c, err = s.ReserveCommands(ctx, name, t0.Add(5*time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, c)
	c, err = s.ReserveCommands(ctx, name, t0.Add(10*time.Second), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, c, 1)
	assert.Equal(t, 2, c[0].Attempts)
	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{c[0].ID}, t0.Add(11*time.Second)))
	failing, err = s.FailingCommands(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, failing)
}

func concurrentReservations(t *testing.T, s saga.Store) {
	ctx := t.Context()
	const instances, per = 40, 3
	var c saga.Commit
	c.Saga = name
	for i := range instances {
		id := fmt.Sprintf("i%02d", i)
		c.Instances = append(c.Instances, saga.InstanceWrite{Instance: inst(id, saga.Running, `{}`)})
		for seq := int64(1); seq <= per; seq++ {
			c.Commands = append(c.Commands, cmd(id, seq, "C"))
		}
	}
	require.NoError(t, s.Commit(ctx, c))

	var mu sync.Mutex
	sent := map[uuid.UUID]int{}
	next := map[string]int64{} // per instance, the seq expected next
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			reserve := func() ([]saga.Command, error) { return s.ReserveCommands(ctx, name, t0, time.Hour, 7) }
			err := reserveUntilIdle(reserve, func(got []saga.Command) error {
				var ids []uuid.UUID
				mu.Lock()
				for _, g := range got {
					sent[g.ID]++
					if next[g.Instance]+1 != g.Seq {
						errs <- fmt.Errorf("%s: got seq %d after %d", g.Instance, g.Seq, next[g.Instance])
					}
					next[g.Instance] = g.Seq
					ids = append(ids, g.ID)
				}
				mu.Unlock()
				return s.MarkSent(ctx, name, ids, t0)
			})
			if err != nil {
				errs <- err
			}
		})
	}
	reportWorkers(t, &wg, errs)
	assert.Len(t, sent, instances*per)
	for id, n := range sent {
		assert.Equal(t, 1, n, "command %s reserved %d times", id, n)
	}
}

func compensatedWhenLastSent(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a")
	a := inst("a", saga.Compensating, `{}`)
	comp1, comp2 := cmd("a", 1, "Undo2"), cmd("a", 2, "Undo1")
	comp1.Compensation, comp2.Compensation = true, true
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Instances: []saga.InstanceWrite{{Instance: a, Expected: 1}},
		Commands: []saga.Command{comp1, comp2}}))

	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{comp1.ID}, t0))
	got, err := s.Load(ctx, name, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, saga.Compensating, got["a"].Status, "one compensation is still unsent")

	require.NoError(t, s.MarkSent(ctx, name, []uuid.UUID{comp2.ID}, t0.Add(time.Second)))
	got, err = s.Load(ctx, name, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, saga.Compensated, got["a"].Status)
	assert.Equal(t, int64(3), got["a"].Version)
	h, err := s.History(ctx, name, "a")
	require.NoError(t, err)
	require.NotEmpty(t, h.Entries)
	last := h.Entries[len(h.Entries)-1]
	assert.Equal(t, saga.StatusChanged, last.Kind)
	assert.Equal(t, string(saga.Compensated), last.Detail)
}

// unparked: a commit removes parked events before it parks new ones, and
// fails whole if one of them is no longer parked.
func unparked(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a")
	park := func(id uuid.UUID, msg string) saga.Parked {
		return saga.Parked{Instance: "a", EventID: id, EventType: "Poked", StreamID: "s-a", Version: 2,
			Position: eventstore.Position{Commit: 2, Prepare: 2}, Error: msg, Attempts: 3, ParkedAt: t0}
	}
	first, second := uuid.New(), uuid.New()
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Parked: []saga.Parked{park(first, "boom"), park(second, "bang")}}))

	// Unpark and park again in one commit: the new row stays.
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Unparked: []uuid.UUID{first}, Parked: []saga.Parked{park(first, "boom again")}}))
	parked, err := s.ParkedEvents(ctx, name)
	require.NoError(t, err)
	require.Len(t, parked, 2)
	assert.Equal(t, second, parked[0].EventID)
	assert.Equal(t, first, parked[1].EventID)
	assert.Equal(t, "boom again", parked[1].Error)

	// One of them no longer parked: nothing is written.
	err = s.Commit(ctx, saga.Commit{Saga: name, Unparked: []uuid.UUID{second, uuid.New()},
		History: []saga.HistoryEntry{{Instance: "a", At: t0, Kind: saga.EventHandled, Detail: "must not be written"}}})
	require.ErrorIs(t, err, saga.ErrConflict)
	parked, err = s.ParkedEvents(ctx, name)
	require.NoError(t, err)
	assert.Len(t, parked, 2)
	h, err := s.History(ctx, name, "a")
	require.NoError(t, err)
	assert.Empty(t, h.Entries)

	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Unparked: []uuid.UUID{first, second}}))
	parked, err = s.ParkedEvents(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, parked)
	require.ErrorIs(t, s.Commit(ctx, saga.Commit{Saga: name, Unparked: []uuid.UUID{first}}), saga.ErrConflict)
}

// refusedCommands: a commit settles a refused command with the instance's
// failure, atomically; the command is never reserved again and the next one
// of its instance is.
func refusedCommands(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a", "b")
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name,
		Commands: []saga.Command{cmd("a", 1, "Credit"), cmd("a", 2, "Notify"), cmd("b", 1, "Credit")}}))
	reserved, err := s.ReserveCommands(ctx, name, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "b1"}, ids(reserved))
	refusal := saga.RefusedCommand{ID: cmd("a", 1, "").ID, Error: "account frozen", At: t0.Add(time.Second)}
	failed := inst("a", saga.Compensating, `{}`)
	failed.Reason, failed.Seq = "Credit refused: account frozen", 3
	undo := cmd("a", 3, "Refund")
	undo.Compensation, undo.Step = true, "debit"

	// With a stale instance version nothing is written: the command stays
	// reserved and unsent.
	err = s.Commit(ctx, saga.Commit{Saga: name, Refused: []saga.RefusedCommand{refusal},
		Instances: []saga.InstanceWrite{{Instance: failed, Expected: 7}}})
	require.ErrorIs(t, err, saga.ErrConflict)
	h, err := s.History(ctx, name, "a")
	require.NoError(t, err)
	assert.False(t, h.Commands[0].Sent())
	assert.False(t, h.Commands[0].Refused)

	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Refused: []saga.RefusedCommand{refusal},
		Instances: []saga.InstanceWrite{{Instance: failed, Expected: 1}}, Commands: []saga.Command{undo},
		History: []saga.HistoryEntry{{Instance: "a", At: refusal.At, Kind: saga.CommandRefused, Detail: failed.Reason}}}))
	h, err = s.History(ctx, name, "a")
	require.NoError(t, err)
	require.Len(t, h.Commands, 3)
	first := h.Commands[0]
	assert.True(t, first.Sent(), "a refused command is settled")
	assert.True(t, first.Refused)
	assert.Equal(t, "account frozen", first.LastError)
	assert.True(t, first.SentAt.Equal(refusal.At))
	assert.False(t, h.Commands[1].Refused)
	assert.Equal(t, saga.Compensating, h.Instance.Status)
	require.Len(t, h.Entries, 1)
	assert.Equal(t, saga.CommandRefused, h.Entries[0].Kind)
	failing, err := s.FailingCommands(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, failing, "a refused command is not a failing one")

	// Settling it again is a conflict, and writes nothing.
	err = s.Commit(ctx, saga.Commit{Saga: name, Refused: []saga.RefusedCommand{refusal},
		History: []saga.HistoryEntry{{Instance: "a", At: refusal.At, Kind: saga.CommandRefused, Detail: "twice"}}})
	require.ErrorIs(t, err, saga.ErrConflict)
	err = s.Commit(ctx, saga.Commit{Saga: name, Refused: []saga.RefusedCommand{{ID: uuid.New(), Error: "x", At: t0}}})
	require.ErrorIs(t, err, saga.ErrConflict, "an unknown command")
	h, err = s.History(ctx, name, "a")
	require.NoError(t, err)
	assert.Len(t, h.Entries, 1)

	// The next command of a is handed out; b's is still reserved.
	next, err := s.ReserveCommands(ctx, name, t0.Add(2*time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a2"}, ids(next))
	assert.False(t, next[0].Refused)
}

func deadlines(t *testing.T, s saga.Store) {
	ctx := t.Context()
	create(t, s, "a", "b")
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Schedule: []saga.Deadline{
		{Instance: "a", Name: "pay", DueAt: t0.Add(time.Minute)},
		{Instance: "a", Name: "ship", DueAt: t0.Add(time.Hour)},
		{Instance: "b", Name: "pay", DueAt: t0.Add(2 * time.Minute)},
	}}))
	got, err := s.ReserveDeadlines(ctx, name, t0, time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing is due yet")

	got, err = s.ReserveDeadlines(ctx, name, t0.Add(3*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].Instance)
	assert.Equal(t, "pay", got[0].Name)
	assert.True(t, got[0].DueAt.Equal(t0.Add(time.Minute)))
	again, err := s.ReserveDeadlines(ctx, name, t0.Add(3*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, again, "reserved deadlines stay reserved")

	// b's deadline is rescheduled meanwhile: firing the reserved one fails.
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Schedule: []saga.Deadline{{Instance: "b", Name: "pay", DueAt: t0.Add(time.Hour)}}}))
	err = s.Commit(ctx, saga.Commit{Saga: name, Fired: []saga.Deadline{got[1]}})
	require.ErrorIs(t, err, saga.ErrConflict)
	// a's fires.
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Fired: []saga.Deadline{got[0]}}))
	h, err := s.History(ctx, name, "a")
	require.NoError(t, err)
	require.Len(t, h.Deadlines, 1)
	assert.Equal(t, "ship", h.Deadlines[0].Name)

	// An expired reservation hands a deadline out again; cancelling all of an
	// instance's deadlines removes them.
	require.NoError(t, s.Commit(ctx, saga.Commit{Saga: name, Cancel: []saga.Deadline{{Instance: "a"}}}))
	got, err = s.ReserveDeadlines(ctx, name, t0.Add(2*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "b", got[0].Instance)
	h, err = s.History(ctx, name, "a")
	require.NoError(t, err)
	assert.Empty(t, h.Deadlines)
}

// concurrentDeadlineReservations has two handles on one storage (two processes)
// reserve many due deadlines at once, several goroutines each: every deadline
// is handed out exactly once while the reservations hold, and none is lost: the
// ones fired are gone, the others come back once their reservations expire.
func concurrentDeadlineReservations(t *testing.T, s saga.Store, open func(*testing.T) saga.Store) {
	ctx := t.Context()
	other := open(t)
	const instances, names = 60, 4
	var c saga.Commit
	c.Saga = name
	for i := range instances {
		id := fmt.Sprintf("i%02d", i)
		c.Instances = append(c.Instances, saga.InstanceWrite{Instance: inst(id, saga.Running, `{}`)})
		for n := range names {
			c.Schedule = append(c.Schedule, saga.Deadline{Instance: id, Name: fmt.Sprintf("d%d", n),
				DueAt: t0.Add(time.Duration(i*names+n) * time.Millisecond)})
		}
	}
	require.NoError(t, s.Commit(ctx, c))
	total := instances * names
	key := func(d saga.Deadline) string { return d.Instance + "/" + d.Name }

	now := t0.Add(time.Minute) // every deadline is due
	const reserveFor = time.Hour
	var mu sync.Mutex
	reserved := map[string]int{}
	fired := map[string]bool{}
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for h, handle := range []saga.Store{s, other} {
		for w := range 4 {
			wg.Go(func() {
				reserve := func() ([]saga.Deadline, error) {
					got, err := handle.ReserveDeadlines(ctx, name, now, reserveFor, 5)
					if err != nil {
						return nil, fmt.Errorf("handle %d, worker %d: reserve: %w", h, w, err)
					}
					return got, nil
				}
				err := reserveUntilIdle(reserve, func(got []saga.Deadline) error {
					var fire []saga.Deadline
					mu.Lock()
					for _, d := range got {
						reserved[key(d)]++
						// Fire every other one, through the handle that
						// reserved it, while the others keep reserving.
						if d.Name == "d0" || d.Name == "d2" {
							fire = append(fire, d)
							fired[key(d)] = true
						}
					}
					mu.Unlock()
					if len(fire) == 0 {
						return nil
					}
					if err := handle.Commit(ctx, saga.Commit{Saga: name, Fired: fire}); err != nil {
						return fmt.Errorf("handle %d, worker %d: fire: %w", h, w, err)
					}
					return nil
				})
				if err != nil {
					errs <- err
				}
			})
		}
	}
	reportWorkers(t, &wg, errs)
	assert.Len(t, reserved, total, "every deadline reserved")
	for k, n := range reserved {
		assert.Equal(t, 1, n, "deadline %s reserved %d times", k, n)
	}
	require.Len(t, fired, total/2)

	// While the reservations hold, neither handle gets any of them again.
	for _, handle := range []saga.Store{s, other} {
		got, err := handle.ReserveDeadlines(ctx, name, now.Add(reserveFor-time.Second), reserveFor, total)
		require.NoError(t, err)
		assert.Empty(t, got, "reserved deadlines are not handed out again")
	}
	// Once they expire, exactly the deadlines not fired come back, each once.
	later := now.Add(2 * reserveFor)
	again := map[string]int{}
	for _, handle := range []saga.Store{other, s} {
		got, err := handle.ReserveDeadlines(ctx, name, later, reserveFor, total)
		require.NoError(t, err)
		for _, d := range got {
			again[key(d)]++
		}
	}
	assert.Len(t, again, total/2, "the deadlines not fired are still stored")
	for k, n := range again {
		assert.Equal(t, 1, n, "deadline %s reserved %d times after expiry", k, n)
		assert.False(t, fired[k], "fired deadline %s is gone", k)
	}
}

// reserveUntilIdle calls reserve until it has come back empty three times in a
// row (5 ms apart), passing every non-empty batch to handle; the first
// error of either ends it.
func reserveUntilIdle[T any](reserve func() ([]T, error), handle func([]T) error) error {
	for idle := 0; idle < 3; {
		got, err := reserve()
		if err != nil {
			return err
		}
		if len(got) == 0 {
			idle++
			time.Sleep(5 * time.Millisecond)
			continue
		}
		idle = 0
		if err := handle(got); err != nil {
			return err
		}
	}
	return nil
}

func inspection(t *testing.T, s saga.Store) {
	ctx := t.Context()
	var c saga.Commit
	c.Saga = name
	for i, st := range []saga.Status{saga.Running, saga.Completed, saga.Running, saga.Compensated, saga.Compensating} {
		c.Instances = append(c.Instances, saga.InstanceWrite{Instance: inst(fmt.Sprintf("i%d", i), st, `{}`)})
	}
	eid := uuid.New()
	c.History = []saga.HistoryEntry{
		{Instance: "i0", At: t0, Kind: saga.EventHandled, EventID: eid, EventType: "Placed", Position: eventstore.Position{Commit: 3, Prepare: 1}},
		{Instance: "i0", At: t0, Kind: saga.EventHandled, Detail: "stock"},
	}
	c.Parked = []saga.Parked{{Instance: "i0", EventID: eid, EventType: "Bad", StreamID: "s-1", Version: 2,
		Position: eventstore.Position{Commit: 4, Prepare: 4}, Error: "boom", Attempts: 3, ParkedAt: t0}}
	require.NoError(t, s.Commit(ctx, c))

	running, err := s.Instances(ctx, name, saga.Query{Status: saga.Running})
	require.NoError(t, err)
	require.Len(t, running, 2)
	assert.Equal(t, "i0", running[0].ID)
	assert.Equal(t, "i2", running[1].ID)
	page, err := s.Instances(ctx, name, saga.Query{After: "i1", Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, "i2", page[0].ID)

	counts, err := s.Count(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, map[saga.Status]int{saga.Running: 2, saga.Completed: 1, saga.Compensated: 1, saga.Compensating: 1}, counts)

	h, err := s.History(ctx, name, "i0")
	require.NoError(t, err)
	require.Len(t, h.Entries, 2)
	assert.Equal(t, saga.EventHandled, h.Entries[0].Kind)
	assert.Equal(t, eid, h.Entries[0].EventID)
	assert.Equal(t, "Placed", h.Entries[0].EventType)
	assert.Equal(t, eventstore.Position{Commit: 3, Prepare: 1}, h.Entries[0].Position)
	assert.Equal(t, "stock", h.Entries[1].Detail)
	require.Len(t, h.Parked, 1)

	parked, err := s.ParkedEvents(ctx, name)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	p := parked[0]
	assert.Equal(t, "boom", p.Error)
	assert.Equal(t, "s-1", p.StreamID)
	assert.Equal(t, uint64(2), p.Version)
	assert.Equal(t, 3, p.Attempts)
	assert.Equal(t, eventstore.Position{Commit: 4, Prepare: 4}, p.Position)

	_, err = s.History(ctx, name, "nope")
	require.ErrorIs(t, err, saga.ErrNotFound)
}

// reportWorkers waits for the workers of wg, then reports every error they
// sent on errs.
func reportWorkers(t *testing.T, wg *sync.WaitGroup, errs chan error) {
	t.Helper()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
