package command

import (
	"errors"
	"fmt"
	"reflect"
)

var (
	// ErrNoHandler: no handler is registered for the command's type.
	ErrNoHandler = errors.New("command: no handler")
	// ErrDuplicateHandler: a second handler was registered for a command
	// type.
	ErrDuplicateHandler = errors.New("command: handler already registered")
	// ErrInvalidCommand: the command failed validation. See
	// [ValidationError].
	ErrInvalidCommand = errors.New("command: invalid command")
)

// ValidationError reports a command refused by validation before its
// handler ran. It matches [ErrInvalidCommand] and [ErrRefused] (see
// [IsRefused]), and unwraps to the validator's error too.
type ValidationError struct {
	Command Command
	Err     error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("command: invalid %s: %v", e.Command, e.Err)
}

// Unwrap returns [ErrInvalidCommand], [ErrRefused] and the validator's
// error.
func (e *ValidationError) Unwrap() []error { return []error{ErrInvalidCommand, ErrRefused, e.Err} }

// TypeName returns the name the bus uses for a payload's type in messages and
// logs: the Go type, without a pointer.
func TypeName(payload any) string {
	t := reflect.TypeOf(payload)
	if t == nil {
		return "<nil>"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.String()
}
