package esdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// UnavailableError reports a server that could not be reached or that
// dropped the connection. It is retryable ([eventstore.IsRetryable]): the
// store connects again on the next call.
type UnavailableError struct {
	// Op is the operation that failed ("append", "read stream", ...).
	Op string
	// Address is the server the store was configured with.
	Address string
	// Err is the client's error.
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("esdb: %s: server %s is unavailable: %v", e.Op, e.Address, e.Err)
}

// Unwrap returns the client's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Retryable reports true: the same call can succeed once the server is back.
func (e *UnavailableError) Retryable() bool { return true }

// clientCode returns the code of the client's error in err's chain. The
// client's own FromError misses wrapped errors, so this uses errors.As.
func clientCode(err error) (kurrentdb.ErrorCode, bool) {
	if ce, ok := errors.AsType[*kurrentdb.Error](err); ok {
		return ce.Code(), true
	}
	return 0, false
}

func isNotFound(err error) bool {
	code, ok := clientCode(err)
	return ok && code == kurrentdb.ErrorCodeResourceNotFound
}

// mapError turns a client error from an operation that used client c into
// chronicle's errors. A cancelled ctx wins: the caller gets ctx's error.
func (s *Store) mapError(ctx context.Context, c *kurrentdb.Client, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	code, ok := clientCode(err)
	if !ok {
		return fmt.Errorf("esdb: %s: %w", op, err)
	}
	switch code {
	case kurrentdb.ErrorUnavailable, kurrentdb.ErrorCodeConnectionClosed:
		if s.isClosed() {
			return eventstore.ErrClosed
		}
		// The client may have given up on discovery and closed itself:
		// start afresh on the next call.
		s.reset(c)
		return &UnavailableError{Op: op, Address: s.address, Err: err}
	case kurrentdb.ErrorCodeNotLeader, kurrentdb.ErrorAborted, kurrentdb.ErrorCodeDeadlineExceeded:
		// The client reconnects to the leader by itself on not-leader.
		return &UnavailableError{Op: op, Address: s.address, Err: err}
	case kurrentdb.ErrorCodeUnauthenticated, kurrentdb.ErrorCodeAccessDenied:
		return fmt.Errorf("esdb: %s: access denied (check the credentials in the connection string): %w", op, err)
	}
	return fmt.Errorf("esdb: %s: %w", op, err)
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
