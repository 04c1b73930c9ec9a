package pgerr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgtest"
)

func pgError(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }

func TestTransient(t *testing.T) {
	var syntax *json.SyntaxError
	_ = json.Unmarshal([]byte("{"), &syntax)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},

		{"context canceled", context.Canceled, false},
		{"context deadline", context.DeadlineExceeded, false},
		{"wrapped context canceled", fmt.Errorf("query: %w", context.Canceled), false},
		{"net timeout caused by the context", &net.OpError{Op: "read", Err: fmt.Errorf("%w", context.DeadlineExceeded)}, false},

		{"serialization failure", pgError(pgerr.SerializationFailure), true},
		{"deadlock", pgError(pgerr.DeadlockDetected), true},
		{"wrapped serialization failure", fmt.Errorf("commit: %w", pgError(pgerr.SerializationFailure)), true},
		{"connection exception class", pgError("08006"), true},
		{"connection does not exist", pgError("08003"), true},
		{"admin shutdown", pgError(pgerr.AdminShutdown), true},
		{"crash shutdown", pgError(pgerr.CrashShutdown), true},
		{"cannot connect now", pgError(pgerr.CannotConnectNow), true},
		{"unique violation", pgError(pgerr.UniqueViolation), false},
		{"undefined table", pgError(pgerr.UndefinedTable), false},
		{"bad password", pgError(pgerr.InvalidPassword), false},
		{"program limit", pgError(pgerr.ProgramLimitExceeded), false},
		{"query canceled", pgError("57014"), false},

		{"connection closed", pgconn.ErrConnClosed, true},
		{"unexpected EOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
		{"EOF", io.EOF, true},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, true},
		{"broken pipe", &net.OpError{Op: "write", Net: "tcp", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"network timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, true},

		{"no rows", pgx.ErrNoRows, false},
		{"json", syntax, false},
		{"plain error", errors.New("cannot scan"), false},
		{"store closed", eventstore.ErrClosed, false},
		{"bad input", &eventstore.InvalidAppendError{Index: -1, Err: eventstore.ErrInvalidStreamID}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := pgerr.Transient(tc.err); got != tc.want {
				t.Fatalf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestTransientFromPgx classifies errors pgx itself returns, from a real
// server and from a port nobody listens on.
func TestTransientFromPgx(t *testing.T) {
	ctx := context.Background()

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nobody listens there now
		_, err = pgconn.Connect(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=5")
		if _, ok := errors.AsType[*pgconn.ConnectError](err); !ok {
			t.Fatalf("want a *pgconn.ConnectError, got %T %v", err, err)
		}
		if !pgerr.Transient(err) {
			t.Fatalf("a refused connect must be transient: %v", err)
		}
	})

	t.Run("canceled connect", func(t *testing.T) {
		pgtest.Require(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := pgconn.Connect(cctx, pgtest.URL())
		if err == nil {
			t.Fatal("connect with a canceled context succeeded")
		}
		if pgerr.Transient(err) {
			t.Fatalf("a canceled connect must not be transient: %v", err)
		}
	})

	t.Run("missing database", func(t *testing.T) {
		pgtest.Require(t)
		cfg, err := pgconn.ParseConfig(pgtest.URL())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Database = "chronicle_pgerr_no_such_database"
		_, err = pgconn.ConnectConfig(ctx, cfg)
		if !pgerr.Is(err, pgerr.InvalidCatalogName) {
			t.Fatalf("want SQLSTATE %s, got %v", pgerr.InvalidCatalogName, err)
		}
		if pgerr.Transient(err) {
			t.Fatalf("a missing database must not be transient: %v", err)
		}
	})

	t.Run("closed connection", func(t *testing.T) {
		pgtest.Require(t)
		conn, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		_, err = conn.Exec(ctx, "select 1")
		if !pgerr.Transient(err) {
			t.Fatalf("a closed connection must be transient: %T %v", err, err)
		}
	})

	t.Run("terminated backend", func(t *testing.T) {
		pgtest.Require(t)
		conn, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		admin, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "select pg_terminate_backend($1)", conn.PgConn().PID()); err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, "select 1")
		if err == nil {
			t.Fatal("a query on a terminated backend succeeded")
		}
		if !pgerr.Transient(err) {
			t.Fatalf("a terminated backend must be transient: %T %v", err, err)
		}
	})

	t.Run("server errors", func(t *testing.T) {
		pool, _ := pgtest.Pool(t)
		_, err := pool.Exec(ctx, "select * from chronicle_pgerr_no_such_table")
		if !pgerr.IsUndefinedObject(err) || pgerr.Transient(err) {
			t.Fatalf("an undefined table: IsUndefinedObject %v, Transient %v: %v", pgerr.IsUndefinedObject(err), pgerr.Transient(err), err)
		}
		_, err = pool.Exec(ctx, "create temporary table t (id int primary key); insert into t values (1), (1)")
		if !pgerr.IsUniqueViolation(err, "t_pkey") || pgerr.Transient(err) {
			t.Fatalf("a unique violation: IsUniqueViolation %v, Transient %v: %v", pgerr.IsUniqueViolation(err, "t_pkey"), pgerr.Transient(err), err)
		}
		err = pool.QueryRow(ctx, "select 1 where false").Scan(new(int))
		if pgerr.Transient(err) {
			t.Fatalf("no rows must not be transient: %v", err)
		}
		pool.Close()
		_, err = pool.Exec(ctx, "select 1")
		if err == nil || pgerr.Transient(err) {
			t.Fatalf("a closed pool must not be transient: %v", err)
		}
	})
}

func TestCodeAndClass(t *testing.T) {
	err := fmt.Errorf("x: %w", pgError(pgerr.UniqueViolation))
	if got := pgerr.Code(err); got != pgerr.UniqueViolation {
		t.Fatalf("Code = %q", got)
	}
	if got := pgerr.Code(errors.New("x")); got != "" {
		t.Fatalf("Code of a non-PostgreSQL error = %q", got)
	}
	if pgerr.Class("08006") != pgerr.ClassConnectionException || pgerr.Class("5") != "" {
		t.Fatal("Class")
	}
	if !pgerr.Is(err, pgerr.DeadlockDetected, pgerr.UniqueViolation) || pgerr.Is(err, pgerr.DeadlockDetected) {
		t.Fatal("Is")
	}
}
