package command

import "context"

// Validator is implemented by payloads that can check themselves.
type Validator interface {
	Validate() error
}

// Validate refuses invalid commands before their handler runs: a payload
// that implements [Validator] is checked with it, then check (when not nil)
// sees the whole command. A refusal is a [*ValidationError] matching
// [ErrInvalidCommand].
func Validate(check func(ctx context.Context, cmd Command) error) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			if v, ok := cmd.Payload.(Validator); ok {
				if err := v.Validate(); err != nil {
					return &ValidationError{Command: cmd, Err: err}
				}
			}
			if check != nil {
				if err := check(ctx, cmd); err != nil {
					return &ValidationError{Command: cmd, Err: err}
				}
			}
			return next.Handle(ctx, cmd)
		})
	}
}
