package command

import (
	"errors"
	"fmt"
)

// ErrRefused matches every refusal: a command the receiving side will not
// carry out, for a reason that sending it again cannot change (a business
// rule — the account is frozen — or input that does not validate). See
// [RefusedError] and [IsRefused].
var ErrRefused = errors.New("command: refused")

// RefusedError marks a handler's error as a refusal: permanent, where
// other errors (a lost connection, a conflict that outlived its retries)
// are transient. It matches [ErrRefused] and unwraps to the handler's
// error, whose message it keeps unchanged. Build one with [Refuse] or
// [Refusef].
//
// A refusal changes how a command's senders react: a saga's dispatcher
// retries transient errors with back-off, but a refused command fails the
// saga, which compensates its completed steps; the [Logging] middleware
// logs refusals at Info level, as outcomes rather than faults.
type RefusedError struct {
	Err error
}

func (e *RefusedError) Error() string {
	if e.Err == nil {
		return "command refused"
	}
	return e.Err.Error()
}

// Unwrap returns [ErrRefused] and the handler's error.
func (e *RefusedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Err}
}

// Refuse marks err as a refusal (see [RefusedError]); nil stays nil and an
// error that is already a refusal is returned as it is. A handler returns
// it for a business rule that forbids the command:
//
//	if err := account.Withdraw(c.Amount); err != nil {
//		return command.Refuse(err) // errors.Is(err, ErrInsufficientFunds) still holds
//	}
func Refuse(err error) error {
	if err == nil || IsRefused(err) {
		return err
	}
	return &RefusedError{Err: err}
}

// Refusef returns a refusal with a formatted message; %w wraps an error,
// as in [fmt.Errorf].
func Refusef(format string, args ...any) error {
	return &RefusedError{Err: fmt.Errorf(format, args...)}
}

// IsRefused reports whether err is a refusal: a [*RefusedError], or a
// [*ValidationError] (a command that fails validation is refused too).
// Sending a refused command again gets the same answer; any other error
// may be worth a retry.
func IsRefused(err error) bool { return errors.Is(err, ErrRefused) }
