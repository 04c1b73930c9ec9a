package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// Defaults for [Config].
const (
	DefaultPollInterval   = 250 * time.Millisecond
	DefaultAppendAttempts = 10
	DefaultPageSize       = 1000
	DefaultHorizonWait    = 2 * time.Second
	DefaultNotifyInterval = 10 * time.Millisecond
	DefaultResolveTimeout = 10 * time.Second
)

// MaxStreamIDLength is the longest stream ID, in bytes, that
// [Config.Limits] may allow: the (stream_id, version) primary key is a
// btree, whose index rows hold at most 2,704 bytes with PostgreSQL's 8 kB
// pages; a stream ID of 2,684 bytes that does not compress, with its
// version and the row's headers, fills one exactly. A longer limit would
// let appends through the limits check that then fail inside the index.
const MaxStreamIDLength = 2684

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is the event store's migration set (component "eventstore"),
// for [pgmigrate]-based tooling such as `chronicle migrate`.
var Migrations = pgmigrate.MustLoad("eventstore", migrationsFS, "migrations")

// Config configures a [Store]. The zero value works.
type Config struct {
	// Schema holds the store's tables; default [pgmigrate.DefaultSchema]. It must be a
	// plain identifier (see [pgmigrate.ValidateSchema]).
	Schema string
	// Limits bounds appends; zero fields take the defaults.
	Limits eventstore.Limits
	// Logger receives background problems (a dropped LISTEN connection, a
	// failed wake-up, a retried subscription read); nil discards them, as
	// everywhere in chronicle (docs/architecture.md, "Defaults").
	Logger *slog.Logger
	// PollInterval is how often a live subscription re-reads the log when no
	// wake-up arrives: the fallback for lost notifications and for writers
	// that send none. Default [DefaultPollInterval].
	PollInterval time.Duration
	// AppendAttempts bounds how many transactions one Append may use when the
	// per-stream order guard or a concurrent insert of the same event ID
	// sends it round again. Default [DefaultAppendAttempts].
	AppendAttempts int
	// PageSize is how many events a read fetches per query. Default
	// [DefaultPageSize].
	PageSize int
	// HorizonWait bounds how long ReadAll waits, when committed events sit
	// behind a transaction still in flight, for that transaction to end (so
	// that a read returns what was committed before it began). Past it,
	// ReadAll returns what is final and leaves the rest to a later read.
	// Default [DefaultHorizonWait]; negative means do not wait.
	HorizonWait time.Duration
	// NotifyInterval is the least time between two wake-up NOTIFYs for
	// other processes; appends in between share the next one. A NOTIFY is a
	// small write transaction of its own (with a commit record), so one per
	// append would add a commit per append. It is sent only while some
	// process listens; while none does, the store looks less often (pauses
	// doubling up to a second). This process's subscriptions are woken at
	// once regardless. Default [DefaultNotifyInterval].
	NotifyInterval time.Duration
	// TracerProvider and MeterProvider receive the store's spans and
	// metrics (see docs/observability.md); nil means the global providers,
	// which do nothing until the application installs an OpenTelemetry
	// SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// ResolveTimeout bounds how long an append whose reply is lost (its
	// context ended, or its connection failed, after the statement may have
	// reached the server) spends finding out whether it was stored: it
	// waits for the server session that got the statement to end, then
	// looks the event IDs up, on a context of its own (so Append may
	// return up to this long after its context ended). Past it, Append
	// returns an [*eventstore.OutcomeUnknownError]. Default
	// [DefaultResolveTimeout]; negative: never wait, return that error at
	// once.
	ResolveTimeout time.Duration
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, fmt.Errorf("postgres: Schema: %w", err))
		}
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("postgres: PollInterval is %v, want 0 (the default) or more", c.PollInterval))
	}
	if c.AppendAttempts < 0 {
		errs = append(errs, fmt.Errorf("postgres: AppendAttempts is %d, want 0 (the default) or more", c.AppendAttempts))
	}
	if c.NotifyInterval < 0 {
		errs = append(errs, fmt.Errorf("postgres: NotifyInterval is %v, want 0 (the default) or more", c.NotifyInterval))
	}
	if c.PageSize < 0 {
		errs = append(errs, fmt.Errorf("postgres: PageSize is %d, want 0 (the default) or more", c.PageSize))
	}
	l := c.Limits
	if l.MaxStreamIDLength < 0 || l.MaxTypeLength < 0 || l.MaxEventSize < 0 || l.MaxAppendEvents < 0 {
		errs = append(errs, fmt.Errorf("postgres: Limits %+v: negative limit", l))
	}
	if l.MaxStreamIDLength > MaxStreamIDLength {
		errs = append(errs, fmt.Errorf("postgres: Limits.MaxStreamIDLength is %d bytes; the events table's primary key holds stream IDs of at most %d (postgres.MaxStreamIDLength)",
			l.MaxStreamIDLength, MaxStreamIDLength))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.Limits = c.Limits.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.AppendAttempts = cmp.Or(c.AppendAttempts, DefaultAppendAttempts)
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
	c.HorizonWait = cmp.Or(c.HorizonWait, DefaultHorizonWait)
	c.NotifyInterval = cmp.Or(c.NotifyInterval, DefaultNotifyInterval)
	c.ResolveTimeout = cmp.Or(c.ResolveTimeout, DefaultResolveTimeout)
	return c
}

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	cfg     Config
	log     *slog.Logger
	channel string
	sql     statements
	tel     *telemetry.Store

	// wake is closed and replaced whenever the log may have grown (a local
	// append, a notification): live subscriptions wait on it.
	mu      sync.Mutex
	wake    chan struct{}
	closed  bool
	done    chan struct{} // closed by Close
	bg      sync.WaitGroup
	listen  sync.Once
	notifyC chan struct{} // size 1: a pending wake-up for other processes
	// wakeUps counts the notifier's statements, and the NOTIFYs they sent
	// (only while some process listened; see sql/notify.sql).
	wakeUps struct{ tried, sent atomic.Int64 }

	// migrated is set once the schema was seen at the latest migration
	// (see requireSchema).
	migrated atomic.Bool
	// sessions says whether the pool's connections report their server
	// session's pid (see checkSessions).
	sessions atomic.Int32
	// stamp is the server and epoch row an append last saw pass the
	// Reanchor check (see sql/parts/append_head.sql); noStamp until one has.
	stamp atomic.Pointer[epochStamp]
	// readCommitted is set once an append has shown that the sessions'
	// default isolation is stricter than read committed (see
	// Store.appendEvents): append_events then runs in a read committed
	// transaction of its own.
	readCommitted atomic.Bool
	// appendOne, appendMany and appendBatch are the single-statement
	// appends as the store runs them (see preparedStmt).
	appendOne, appendMany, appendBatch preparedStmt
	// wire: the single statement is encoded and run on the wire (see
	// Store.insertWire).
	wire bool
}

var _ eventstore.Store = (*Store)(nil)

// New returns a store on pool. It validates cfg and never touches the
// database: run [Store.Migrate] (or `chronicle migrate`) to create the
// schema. The pool stays the caller's: [Store.Close] does not close it.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: New: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch mode := pool.Config().ConnConfig.DefaultQueryExecMode; mode {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		// Without the parameter types the server describes, pgx cannot
		// encode the append's event IDs; the failure would come after the
		// append began, as an unknown outcome.
		return nil, fmt.Errorf("postgres: New: the pool's DefaultQueryExecMode is %v: the store needs the parameter types the server describes; use the default (cache_statement), or cache_describe or describe_exec behind a transaction-pooling proxy", mode)
	}
	st, err := newStatements(cfg.Schema)
	if err != nil {
		return nil, err
	}
	s := &Store{
		pool:    pool,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "chronicle/eventstore/postgres", "schema", cfg.Schema),
		channel: channelName(cfg.Schema),
		sql:     st,
		tel:     telemetry.NewStore(cfg.TracerProvider, cfg.MeterProvider, "eventstore/postgres", "postgresql"),
		wake:    make(chan struct{}),
		done:    make(chan struct{}),
		notifyC: make(chan struct{}, 1),
	}
	s.stamp.Store(noStamp)
	// Named statements only in pgx's default mode, which prepares every
	// statement anyway; another mode is the application's choice (the
	// simple protocol or described statements behind a transaction-pooling
	// proxy, which named statements would break).
	named := pool.Config().ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement
	s.appendOne = newPreparedStmt("append_one", st.appendOne, named)
	s.appendMany = newPreparedStmt("append_many", st.appendMany, named)
	s.appendBatch = newPreparedStmt("append_batch", st.appendBatch, named)
	// A tracer on the pool sees every statement pgx runs: the appends go
	// through pgx then (see Store.insertWire).
	s.wire = named && pool.Config().ConnConfig.Tracer == nil
	s.bg.Add(1)
	go s.notifier()
	return s, nil
}

// Schema returns the schema the store uses.
func (s *Store) Schema() string { return s.cfg.Schema }

// Migrate applies the event store's pending migrations to its schema,
// creating the schema if needed. It is safe to call from several processes
// at once.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	if err == nil {
		s.migrated.Store(true)
	}
	return err
}

// requireSchema checks, until the check once succeeds, that every event
// store migration has been applied to the schema, before the store first
// writes. A binary newer than its schema would otherwise write with SQL
// the schema has not caught up with: after an upgrade to migration 2, a
// schema still at 1 keeps a streams table that its own append_events
// reads and the new appends no longer update. Reads need no check: every
// migration so far keeps the events table they read. db is the pool, or
// the caller's transaction for AppendTx (so that the check needs no second
// connection).
func (s *Store) requireSchema(ctx context.Context, db pgmigrate.DB) error {
	if s.migrated.Load() {
		return nil
	}
	states, err := pgmigrate.Status(ctx, db, s.cfg.Schema, Migrations)
	if err != nil {
		return s.mapError("check schema", "", err)
	}
	for _, st := range states {
		if st.Pending() {
			return fmt.Errorf("%w (schema %q): migration %s %d (%s) is pending; run Store.Migrate or `chronicle migrate`",
				ErrNotMigrated, s.cfg.Schema, st.Component, st.Version, st.Name)
		}
	}
	s.migrated.Store(true)
	return nil
}

// Close stops the store's background work (wake-ups, the LISTEN
// connection), ends live subscriptions with [eventstore.ErrClosed] and makes
// later calls fail with it. It does not close the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	close(s.wake)
	s.mu.Unlock()
	s.bg.Wait()
	return nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitChan returns the channel the next wake-up closes.
func (s *Store) waitChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// broadcast wakes every live subscription of this store.
func (s *Store) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// channelName derives the LISTEN/NOTIFY channel from the schema; channel
// names are identifiers, at most 63 bytes.
func channelName(schema string) string {
	name := "chronicle_events." + schema
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return "chronicle_events." + schema[:29] + "." + hex.EncodeToString(sum[:8])
}
