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
			ctx, scope := ensureScope(ctx)
			scope.Metadata.CausationID = cmd.ID.String()
			scope.Metadata.CorrelationID = cmd.CorrelationID
			if cmd.CorrelationID == "" {
				scope.Metadata.CorrelationID = cmd.ID.String()
			}
			return next.Handle(ctx, cmd)
		})
	}
}

// ensureScope returns ctx's scope, adding one when a middleware runs outside
// a [Bus] (in a test, say).
func ensureScope(ctx context.Context) (context.Context, *aggregate.Scope) {
	if s := aggregate.ScopeFrom(ctx); s != nil {
		return ctx, s
	}
	s := &aggregate.Scope{}
	return aggregate.WithScope(ctx, s), s
}
