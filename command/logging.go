package command

import (
	"context"
	"log/slog"
	"time"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Logging logs every command handled with logger: at Debug level when it
// succeeds (with the number of events appended and whether it was a
// replay), at Info level when it is refused ([IsRefused]: a business rule
// or validation said no, which is an outcome, not a fault), and at Warn
// level when it fails otherwise. A nil logger logs nothing.
func Logging(logger *slog.Logger) Middleware {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			start := time.Now()
			err := next.Handle(ctx, cmd)
			attrs := []slog.Attr{
				slog.String("command", TypeName(cmd.Payload)),
				slog.String("command_id", cmd.ID.String()),
				slog.String("correlation_id", cmd.CorrelationID),
				slog.Duration("duration", time.Since(start)),
			}
			if err != nil {
				level, msg := slog.LevelWarn, "command failed"
				if IsRefused(err) {
					level, msg = slog.LevelInfo, "command refused"
				}
				logger.LogAttrs(ctx, level, msg, append(attrs, slog.Any("error", err))...)
				return err
			}
			if unit := aggregate.UnitFrom(ctx); unit != nil {
				n := 0
				for _, a := range unit.Appended() {
					n += len(a.EventIDs)
				}
				attrs = append(attrs, slog.Int("events", n), slog.Bool("replayed", unit.Replayed()))
			}
			logger.LogAttrs(ctx, slog.LevelDebug, "command handled", attrs...)
			return nil
		})
	}
}
