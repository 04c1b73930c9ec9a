package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Idempotent makes a command apply at most once per command ID: the events
// its handler saves get IDs derived from the command ID (UUID v5, see
// [aggregate.Unit]), and a command whose events are already stored appends
// nothing and succeeds with the original result ([Result.Replayed] set).
//
// How a re-sent command is recognised, in the order it is tried:
//
//  1. Loading the aggregate finds the command's first derived event ID among
//     the events read: the repository fails with
//     [aggregate.AlreadyAppliedError], before the handler decides anything.
//  2. Saving hits the store's idempotent append (same IDs right after the
//     same version, a concurrent duplicate): the store returns the original
//     result.
//  3. Saving is refused because the IDs are stored further back: the
//     repository finds them and fails with [aggregate.AlreadyAppliedError].
//  4. The handler failed or appended nothing, and an aggregate was loaded
//     from a snapshot, which hides the events before it: the streams are
//     read from their start for the derived IDs ([aggregate.Unit.FindApplied]).
//
// An append whose outcome the store could not tell
// ([eventstore.IsOutcomeUnknown]) is settled by the same search when the
// context still allows it: found, the command is a replay; not found, the
// error is returned as it is (the append may still be in flight, so not
// finding it proves nothing) — send the command again with the same ID.
//
// Place it outside [RetryConflicts], so a replay is not retried.
func Idempotent() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			ctx, unit := ensureUnit(ctx)
			unit.Seed = cmd.ID
			err := next.Handle(ctx, cmd)
			if applied, ok := errors.AsType[*aggregate.AlreadyAppliedError](err); ok {
				unit.Replay(applied.Appended)
				return nil
			}
			if err == nil && len(unit.Appended()) > 0 {
				return nil
			}
			applied, ferr := unit.FindApplied(ctx)
			if applied != nil {
				unit.Replay(applied.Appended)
				return nil
			}
			if err != nil && ferr != nil {
				if eventstore.IsOutcomeUnknown(err) {
					// The events may be stored: the search's error (a
					// cancellation, often) must not make it read as a
					// plain failure.
					return fmt.Errorf("%w (looking for an earlier run of %s: %v)", err, cmd, ferr)
				}
				// The handler's error stays first, and matchable.
				return errors.Join(err, fmt.Errorf("command: looking for an earlier run of %s: %w", cmd, ferr))
			}
			// A handler that succeeded without appending keeps its success
			// even if the search for an earlier run failed.
			return err
		})
	}
}
