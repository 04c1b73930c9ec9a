package command

import (
	"context"
	"log/slog"
)

// Handler handles one command. Implementations load aggregates, run the
// command on them and save them through an aggregate repository, using the
// ctx they are given: it carries the command's [aggregate.Unit], through
// which the bus's middleware stamps metadata, derives event IDs and collects
// the result.
type Handler interface {
	Handle(ctx context.Context, cmd Command) error
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, cmd Command) error

var _ Handler = HandlerFunc(nil)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, cmd Command) error { return f(ctx, cmd) }

// Middleware wraps a handler: logging, validation, retries, idempotency.
type Middleware func(Handler) Handler

// misconfigured is what a middleware built from a configuration that does
// not validate wraps every handler in: registering a handler on a bus fails
// with err (so the mistake surfaces at start-up, without a panic), and a
// handler chained by hand fails every command with it.
type misconfigured struct{ err error }

func (m misconfigured) Handle(context.Context, Command) error { return m.err }

// Chain returns h wrapped by mw, the first outermost:
// Chain(h, a, b) handles a command through a, then b, then h.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// DefaultMiddleware is the recommended stack, outermost first: [Logging],
// [Validate], [Metadata], [Idempotent], [RetryConflicts] with its defaults.
func DefaultMiddleware(logger *slog.Logger) []Middleware {
	return []Middleware{Logging(logger), Validate(nil), Metadata(), Idempotent(), RetryConflicts(RetryConfig{})}
}
