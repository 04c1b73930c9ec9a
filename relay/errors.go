package relay

import "errors"

var (
	// ErrUnknownRelay: no relay of that name in the store.
	ErrUnknownRelay = errors.New("relay: unknown relay")
	// ErrFenced: a checkpoint write found the checkpoint moved by someone
	// else; this owner's view is stale and it wrote nothing.
	ErrFenced = errors.New("relay: checkpoint moved by someone else")
	// ErrClaimLost: the ownership ended (in PostgreSQL, the lease's
	// connection died); nothing was written.
	ErrClaimLost = errors.New("relay: ownership lost")
)
