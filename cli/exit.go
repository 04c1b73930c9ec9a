package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
)

// Exit codes. Scripts can rely on them; docs/cli.md lists them with the
// errors behind each.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: an operational error (a failed query, a broken
	// connection mid-way, anything not covered below).
	ExitError = 1
	// ExitUsage: the command line or the input is wrong (unknown command or
	// flag, bad schema name, malformed events on stdin); nothing was done.
	ExitUsage = 2
	// ExitNotFound: the stream, projection or saga instance does not exist.
	ExitNotFound = 3
	// ExitNotMigrated: the schema lacks tables the command needs; run
	// `chronicle migrate`.
	ExitNotMigrated = 4
	// ExitConflict: the store's state does not allow the operation: an
	// append whose expected version does not match, an append to a store
	// that needs `chronicle reanchor`, a skip or retry of a projection that
	// is not stopped at a failed event.
	ExitConflict = 5
	// ExitUnreachable: the PostgreSQL server could not be reached or refused
	// the connection.
	ExitUnreachable = 6
	// ExitInterrupted: the command was interrupted (SIGINT, SIGTERM or its
	// context cancelled) before it finished. tail is the exception: being
	// stopped is how it ends, with ExitOK.
	ExitInterrupted = 130
)

// usageError reports a wrong command line or input: exit code [ExitUsage].
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errNotFound marks errors of things the CLI itself found missing.
var errNotFound = errors.New("not found")

// notMigratedError reports a schema that lacks a component's tables.
type notMigratedError struct {
	prog   string
	schema string
	detail string
	// others, when the schema holds no component at all, lists the schemas
	// that do.
	others string
	err    error
}

func (e *notMigratedError) Error() string {
	msg := fmt.Sprintf("schema %q is not migrated", e.schema)
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	if e.others != "" {
		return msg + fmt.Sprintf("; %s, or run `%s migrate --schema %s` to create them here", e.others, e.prog, e.schema)
	}
	return msg + fmt.Sprintf(": run `%s migrate --schema %s`", e.prog, e.schema)
}

func (e *notMigratedError) Unwrap() error { return e.err }

// missingTableError reports a table the command needed that no known
// component creates: the application's own table, not created.
type missingTableError struct {
	schema, table, prog string
	err                 error
}

func (e *missingTableError) Error() string {
	return fmt.Sprintf("table %q does not exist in schema %q (nor elsewhere on the search_path): it is not one of chronicle's tables "+
		"but the application's; create it with the application's migrations (cli.Options.Migrations lets `%s migrate --schema %s` apply them)",
		e.table, e.schema, e.prog, e.schema)
}

func (e *missingTableError) Unwrap() error { return e.err }

// unreachableError reports a server the CLI could not connect to.
type unreachableError struct {
	where string
	err   error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot connect to PostgreSQL at %s: %v (check --postgres or CHRONICLE_POSTGRES_URL)", e.where, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// isUndefinedObject reports a PostgreSQL error about a missing table,
// schema or function: a schema that was not migrated.
func isUndefinedObject(err error) bool {
	return pgerr.IsUndefinedObject(err)
}

// exitCode maps an error onto the documented exit codes.
func exitCode(err error) int {
	var usage *usageError
	var invalid *eventstore.InvalidAppendError
	var unreachable *unreachableError
	var notMigrated *notMigratedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage), errors.As(err, &invalid), errors.Is(err, pgmigrate.ErrInvalidSchema):
		return ExitUsage
	case errors.As(err, &unreachable):
		return ExitUnreachable
	case errors.As(err, &notMigrated), errors.Is(err, espg.ErrNotMigrated):
		return ExitNotMigrated
	case errors.As(err, new(*missingTableError)):
		return ExitError
	case isUndefinedObject(err):
		return ExitNotMigrated
	case errors.Is(err, eventstore.ErrStreamNotFound), errors.Is(err, projection.ErrUnknownProjection),
		errors.Is(err, saga.ErrNotFound), errors.Is(err, errNotFound):
		return ExitNotFound
	case errors.Is(err, eventstore.ErrConcurrencyConflict), errors.Is(err, projection.ErrNotFailed), errors.Is(err, espg.ErrNeedsReanchor):
		return ExitConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ExitInterrupted
	}
	return ExitError
}
