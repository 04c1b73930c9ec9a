package pglease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// The kinds of lease chronicle takes.
const (
	Projection = "projection"
	Saga       = "saga"
	Relay      = "relay"
)

// ErrLost: the lease's connection died, and with it the lock; work run
// through [Lease.Do] then fails with an error that matches it.
var ErrLost = errors.New("pglease: lease lost")

// Key names a lease: its kind, the schema of the tables it guards, and the
// name of what it owns (a projection, a saga, a relay).
type Key struct {
	Kind   string
	Schema string
	Name   string
}

// Class is the text whose hashtext is the lock's first key:
// "chronicle.<kind>:" and the quoted schema.
func (k Key) Class() string { return "chronicle." + k.Kind + ":" + pgmigrate.Quote(k.Schema) }

// legacy is the text of the 64-bit key this kind locked before the
// two-integer keys, or "" for a kind that had none.
func (k Key) legacy() string {
	if k.Kind != Projection && k.Kind != Saga {
		return ""
	}
	return "chronicle-" + k.Kind + ":" + k.Schema + ":" + k.Name
}

func (k Key) String() string { return k.Kind + " " + k.Schema + "." + k.Name }

// DefaultRetry is [Config.Retry]'s default.
const DefaultRetry = time.Second

// Config configures [Acquire]. Conn is required; the zero value of the
// other fields works.
type Config struct {
	// Conn configures the lease's dedicated connection (a copy is used).
	Conn *pgx.ConnConfig
	// Retry is how often a standby tries the lock again (default
	// [DefaultRetry]; a negative Retry means the default too).
	Retry time.Duration
	// Check, if positive, is how often the holder pings its connection
	// while [Lease.Do] is not using it, so that [Lease.Lost] fires when the
	// connection dies while idle. Zero: the loss is noticed only by Do.
	// A ping is given [PingTimeout] or Check, whichever is longer, before
	// the connection counts as dead: a ping that is merely slow (a loaded
	// server or client) must not end a live lease, since giving up on it
	// closes the connection and the lock with it.
	Check time.Duration
	// Logger receives a line when a standby starts waiting; nil discards it.
	Logger *slog.Logger
}

// PingTimeout is the least time a lease's check gives one ping (see
// [Config.Check]).
const PingTimeout = 5 * time.Second

// tryLock takes the key's lock and, for kinds that had one, its legacy
// lock, in one round trip: both, or (releasing the first) neither.
const tryLock = `SELECT CASE WHEN pg_try_advisory_lock(hashtext($1), hashtext($2)) THEN
		CASE WHEN $3 = '' OR pg_try_advisory_lock(hashtextextended($3, 0)) THEN true
		ELSE NOT pg_advisory_unlock(hashtext($1), hashtext($2)) END
	ELSE false END`

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Acquire opens a dedicated connection and blocks until it holds key's
// lock (a standby polls every cfg.Retry) or ctx ends. It returns an error,
// holding nothing, when the connection cannot be made or the lock query
// fails; callers retry.
func Acquire(ctx context.Context, key Key, cfg Config) (*Lease, error) {
	if cfg.Conn == nil {
		return nil, errors.New("pglease: nil connection config")
	}
	if err := pgmigrate.ValidateSchema(key.Schema); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	conn, err := pgx.ConnectConfig(ctx, cfg.Conn.Copy())
	if err != nil {
		return nil, fmt.Errorf("pglease: %s: connect: %w", key, err)
	}
	class, legacy := key.Class(), key.legacy()
	logged := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, tryLock, class, key.Name, legacy).Scan(&ok); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("pglease: %s: lock: %w", key, err)
		}
		if ok {
			break
		}
		if !logged {
			cfg.Logger.Debug("lease held elsewhere; waiting as a standby", "lease", key.String())
			logged = true
		}
		if !backoff.Sleep(ctx, cfg.Retry) {
			conn.Close(context.WithoutCancel(ctx))
			return nil, ctx.Err()
		}
	}
	l := &Lease{key: key, conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.Check > 0 {
		go l.watch(cfg.Check)
	} else {
		close(l.done)
	}
	return l, nil
}

// Lease is one holder's ownership of a key. Its methods are safe for
// concurrent use; [Lease.Do] runs one function at a time.
type Lease struct {
	key Key

	mu       sync.Mutex // serialises the use of conn
	conn     *pgx.Conn
	released bool

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{} // ends the watcher
	done     chan struct{} // closed when the watcher has ended
	stopOnce sync.Once
}

// Key returns the lease's key.
func (l *Lease) Key() Key { return l.key }

// Lost is closed when the lease has ended: its connection died (noticed by
// Do or by the check) or it was released.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

func (l *Lease) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// Do runs fn on the lease's connection, alone. If fn fails and the
// connection is closed — the lock went with it — the lease is lost and Do
// returns an error matching [ErrLost] and fn's error; after that, and after
// Release, Do fails with [ErrLost] without running fn.
func (l *Lease) Do(ctx context.Context, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released || l.conn.IsClosed() {
		l.markLost()
		return fmt.Errorf("%w: %s: connection closed", ErrLost, l.key)
	}
	err := fn(ctx, l.conn)
	if err != nil && l.conn.IsClosed() {
		l.markLost()
		if errors.Is(err, ErrLost) {
			return err
		}
		return fmt.Errorf("%w: %s: %w", ErrLost, l.key, err)
	}
	return err
}

// watch pings the connection every interval while Do is not using it.
func (l *Lease) watch(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if !l.mu.TryLock() {
			continue // in use: Do notices a dead connection itself
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(every, PingTimeout))
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			l.markLost()
			return
		}
	}
}

// Release gives the lease up: it unlocks and closes the connection. It is
// safe to call more than once and after the lease was lost.
func (l *Lease) Release(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.markLost()
	if l.released {
		return nil
	}
	l.released = true
	if l.conn.IsClosed() {
		return nil
	}
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	if cerr := l.conn.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pglease: %s: release: %w", l.key, err)
	}
	return nil
}

// Held returns an SQL boolean expression that is true while some session
// holds the lease of kind in schema for the name that the SQL expression
// name yields (a column, say), under its key or its legacy key. The
// expression uses no parameters; schema must be valid.
func Held(kind, schema, name string) string {
	k := Key{Kind: kind, Schema: schema}
	lock := func(cond string) string {
		return `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ` + cond + `)`
	}
	held := lock(`l.objsubid = 2 AND l.classid = hashtext(` + literal(k.Class()) + `)::oid AND l.objid = hashtext(` + name + `)::oid`)
	if prefix := k.legacy(); prefix != "" {
		key := `hashtextextended(` + literal(prefix) + ` || ` + name + `, 0)`
		held += ` OR ` + lock(`l.objsubid = 1 AND l.classid::bigint = ((`+key+` >> 32) & 4294967295) AND l.objid::bigint = (`+key+` & 4294967295)`)
	}
	return `(` + held + `)`
}

func literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// DefaultOwner is the name a process gives itself as the holder of its
// leases when its configuration names none: "hostname/pid".
func DefaultOwner() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}
