package command

import (
	"context"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Metadata stamps the command on every event its handler saves: the
// command's ID becomes the events' causation ID, and its correlation ID (or,
// when empty, its own ID, as the start of a chain) their correlation ID.
func Metadata() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			ctx, unit := ensureUnit(ctx)
			unit.Metadata.CausationID = cmd.ID.String()
			unit.Metadata.CorrelationID = cmd.CorrelationID
			if cmd.CorrelationID == "" {
				unit.Metadata.CorrelationID = cmd.ID.String()
			}
			return next.Handle(ctx, cmd)
		})
	}
}

// ensureUnit returns ctx's unit, adding one when a middleware runs outside
// a [Bus] (in a test, say).
func ensureUnit(ctx context.Context) (context.Context, *aggregate.Unit) {
	if s := aggregate.UnitFrom(ctx); s != nil {
		return ctx, s
	}
	s := &aggregate.Unit{}
	return aggregate.WithUnit(ctx, s), s
}
