package broker

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidMessage: a message is not a valid CloudEvent (a required
	// attribute missing, a value that does not parse). See
	// [InvalidMessageError].
	ErrInvalidMessage = errors.New("broker: invalid message")
	// ErrRefused: the broker refused a message for good (it cannot be
	// routed, it is too large): sending it again fails again. A relay parks
	// such a message instead of retrying it. See [RefusedError].
	ErrRefused = errors.New("broker: message refused")
	// ErrClosed: the publisher or consumer was closed.
	ErrClosed = errors.New("broker: closed")
)

// InvalidMessageError reports a message that is not a valid CloudEvent. It
// unwraps to [ErrInvalidMessage].
type InvalidMessageError struct {
	// ID is the message's ID, if it has one.
	ID     string
	Reason string
}

func (e *InvalidMessageError) Error() string {
	if e.ID == "" {
		return "broker: invalid message: " + e.Reason
	}
	return fmt.Sprintf("broker: invalid message %s: %s", e.ID, e.Reason)
}

// Unwrap returns [ErrInvalidMessage].
func (e *InvalidMessageError) Unwrap() error { return ErrInvalidMessage }

// RefusedError reports a message the broker refused for good. It unwraps to
// [ErrRefused] and to the broker's own error, if any.
type RefusedError struct {
	ID string
	// Reason is the broker's answer ("no route", "message too large").
	Reason string
	Err    error
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("broker: message %s refused: %s", e.ID, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns [ErrRefused] and the cause.
func (e *RefusedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Err}
}

// IsPermanent reports whether sending the same message again cannot
// succeed: the broker refused it ([ErrRefused]) or it is not a valid
// message ([ErrInvalidMessage]). Every other error (a lost connection, a
// timeout, a broker that is down) is worth a retry.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalidMessage)
}
