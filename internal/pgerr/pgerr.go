// Package pgerr names, once, the PostgreSQL SQLSTATE codes chronicle's
// PostgreSQL packages look at, and classifies the errors pgx returns: which
// one the server raised, and which are worth running again.
//
// Only PostgreSQL packages import it (it imports pgconn); the core packages
// see these errors only through their own typed errors and behaviour
// predicates such as [eventstore.IsRetryable].
//
// The codes are PostgreSQL's, listed in its manual, appendix A, "PostgreSQL
// Error Codes".
package pgerr

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes chronicle checks.
const (
	NumericValueOutOfRange  = "22003" // a value too large for its column type
	UniqueViolation         = "23505"
	InvalidSQLStatementName = "26000" // no such prepared statement on the session
	FeatureNotSupported     = "0A000" // for one: a cached plan that must not change its result type
	InvalidPassword         = "28P01"
	InvalidCatalogName      = "3D000" // the database does not exist
	InvalidSchemaName       = "3F000" // the schema does not exist
	SerializationFailure    = "40001"
	DeadlockDetected        = "40P01"
	UndefinedFunction       = "42883"
	UndefinedTable          = "42P01"
	ProgramLimitExceeded    = "54000" // for one: a value the server cannot print within 1 GB
	AdminShutdown           = "57P01" // the server is shutting down, or pg_terminate_backend
	CrashShutdown           = "57P02"
	CannotConnectNow        = "57P03" // the server is starting up or recovering
)

// SQLSTATE classes (a code's first two characters) chronicle checks.
const (
	ClassConnectionException = "08"
	ClassProgramLimit        = "54"
)

// Code returns the SQLSTATE of the PostgreSQL error in err's chain, or ""
// when the server raised none.
func Code(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code
	}
	return ""
}

// Class returns the class of a SQLSTATE code: its first two characters.
func Class(code string) string {
	if len(code) < 2 {
		return ""
	}
	return code[:2]
}

// Is reports whether err's chain holds a PostgreSQL error with one of codes.
func Is(err error, codes ...string) bool {
	code := Code(err)
	if code == "" {
		return false
	}
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}

// IsUniqueViolation reports a unique violation of the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == UniqueViolation && pgErr.ConstraintName == constraint
}

// IsUndefinedObject reports a missing table, schema or function: a schema
// that was not migrated (or not as far as the code needs).
func IsUndefinedObject(err error) bool {
	return Is(err, UndefinedTable, InvalidSchemaName, UndefinedFunction)
}

// Transient reports whether running the operation that failed with err
// again can succeed, and classifies explicitly; what it does not recognise
// is not transient:
//
//   - nil, and an error that wraps [context.Canceled] or
//     [context.DeadlineExceeded], are not: the caller gave up (pgx's own
//     connect_timeout looks the same and is not either; a retry loop checks
//     its own context anyway);
//   - a PostgreSQL error is when its code says so: a connection exception
//     (class 08), a serialization failure, a deadlock, the server shutting
//     down or not accepting connections yet (57P01, 57P02, 57P03); any other
//     code (a constraint, a missing table, a bad password) is not;
//   - a failed connect ([*pgconn.ConnectError]: refused, unreachable, reset)
//     is, unless the server refused it with a code that is not (above);
//   - an error pgx marks as raised before anything was sent
//     ([pgconn.SafeToRetry]), a closed connection ([pgconn.ErrConnClosed]),
//     a connection cut mid-exchange ([io.EOF], [io.ErrUnexpectedEOF], a
//     reset or broken pipe) and any other network error ([net.Error]) are;
//   - anything else — a row that does not scan, a closed pool, bad input,
//     an error of the caller's own — is not: it does not get better by
//     trying again.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if code := Code(err); code != "" {
		switch {
		case Class(code) == ClassConnectionException:
			return true
		case code == SerializationFailure, code == DeadlockDetected:
			return true
		case code == AdminShutdown, code == CrashShutdown, code == CannotConnectNow:
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	switch {
	case pgconn.SafeToRetry(err), errors.Is(err, pgconn.ErrConnClosed):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return false
}
