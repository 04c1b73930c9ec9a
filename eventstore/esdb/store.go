package esdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// DefaultMaxAppendSize is EventStoreDB's and KurrentDB's default
// --max-append-size: the most bytes one append may carry.
const DefaultMaxAppendSize = 1 << 20

// Config configures a [Store]. Only ConnectionString is required.
type Config struct {
	// ConnectionString locates the server, in the client's format:
	// "esdb://127.0.0.1:2113?tls=false" for an insecure single node,
	// "kurrentdb://admin:changeit@host:2113" with TLS, or
	// "esdb+discover://host1:2113,host2:2113" for a cluster. The esdb,
	// kurrent and kurrentdb schemes are all accepted. Its settings
	// (maxDiscoverAttempts, discoveryInterval, gossipTimeout,
	// defaultDeadline, ...) tune the connection; see docs/esdb.md.
	ConnectionString string
	// Namespace, when set, is put in front of every stream ID on the server
	// ("billing." stores stream "order-1" as "billing.order-1"), and
	// ReadAll and Subscribe see only the namespace's streams, with the
	// namespace taken off again. It lets several applications, or tests,
	// share one server, as a schema does in PostgreSQL. It must not start
	// with "$" (EventStoreDB's system streams). ReadAll filters $all on the
	// client, so in a shared server it reads past other namespaces' events.
	Namespace string
	// Limits bounds appends; zero fields take the defaults. Stream ID limits
	// apply to the ID without the namespace.
	Limits eventstore.Limits
	// MaxAppendSize is the server's --max-append-size in bytes
	// ([DefaultMaxAppendSize] when zero). Appends larger than this are
	// refused before anything is sent, with an [eventstore.ErrEventTooLarge].
	MaxAppendSize int
	// Logger receives the client's diagnostics; nothing is logged when nil.
	Logger *slog.Logger
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.ConnectionString) == "" {
		errs = append(errs, errors.New("esdb: config: ConnectionString is empty"))
	} else if _, err := kurrentdb.ParseConnectionString(c.ConnectionString); err != nil {
		errs = append(errs, fmt.Errorf("esdb: config: ConnectionString: %w", err))
	}
	if c.Namespace != "" {
		if strings.HasPrefix(c.Namespace, "$") {
			errs = append(errs, fmt.Errorf(`esdb: config: Namespace %q starts with "$", the prefix of EventStoreDB's system streams`, c.Namespace))
		} else if err := (eventstore.Limits{MaxStreamIDLength: len(c.Namespace)}).CheckStreamID(c.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("esdb: config: Namespace: %w", err))
		}
	}
	if c.MaxAppendSize < 0 {
		errs = append(errs, fmt.Errorf("esdb: config: MaxAppendSize %d is negative", c.MaxAppendSize))
	}
	for _, l := range []struct {
		name string
		v    int
	}{
		{"MaxStreamIDLength", c.Limits.MaxStreamIDLength}, {"MaxTypeLength", c.Limits.MaxTypeLength},
		{"MaxEventSize", c.Limits.MaxEventSize}, {"MaxAppendEvents", c.Limits.MaxAppendEvents},
	} {
		if l.v < 0 {
			errs = append(errs, fmt.Errorf("esdb: config: Limits.%s %d is negative", l.name, l.v))
		}
	}
	return errors.Join(errs...)
}

// Store is the EventStoreDB / KurrentDB event store. It is safe for
// concurrent use. Close it when done.
type Store struct {
	limits        eventstore.Limits
	namespace     string
	maxAppendSize int
	logger        *slog.Logger
	conf          kurrentdb.Configuration
	address       string

	mu     sync.Mutex
	client *kurrentdb.Client
	closed bool
}

var _ eventstore.Store = (*Store)(nil)
var _ io.Closer = (*Store)(nil)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Limits = c.Limits.WithDefaults()
	c.MaxAppendSize = cmp.Or(c.MaxAppendSize, DefaultMaxAppendSize)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// New returns a store for the server cfg.ConnectionString names. It does no
// I/O: the first call connects (call [Store.Ping] to check the server at
// start-up).
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conf, err := kurrentdb.ParseConnectionString(cfg.ConnectionString)
	if err != nil { // checked by Validate; kept for the compiler's sake
		return nil, fmt.Errorf("esdb: config: ConnectionString: %w", err)
	}
	cfg = cfg.withDefaults()
	conf.Logger = clientLogger(cfg.Logger)
	s := &Store{
		limits:        cfg.Limits,
		namespace:     cfg.Namespace,
		maxAppendSize: cfg.MaxAppendSize,
		logger:        cfg.Logger,
		conf:          *conf,
		address:       describeAddress(conf),
	}
	if s.client, err = s.newClient(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) newClient() (*kurrentdb.Client, error) {
	conf := s.conf
	c, err := kurrentdb.NewClient(&conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: %w", err)
	}
	return c, nil
}

// conn returns the client to use for one call.
func (s *Store) conn() (*kurrentdb.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	return s.client, nil
}

// reset replaces c after it reported the server unreachable. The official
// client closes itself for good when its node discovery fails, so without a
// fresh client a store would stay broken after the server comes back.
func (s *Store) reset(c *kurrentdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.client != c {
		return
	}
	fresh, err := s.newClient()
	if err != nil {
		s.logger.Warn("esdb: cannot create a new client", "error", err)
		return
	}
	s.client = fresh
	_ = c.Close()
}

// Ping connects to the server if needed and reports whether it answers: nil,
// an [*UnavailableError], or ctx's error.
func (s *Store) Ping(ctx context.Context) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	// Reading one event backwards from the end of a stream that need not
	// exist makes the client discover the node and run one request.
	rs, err := c.ReadStream(ctx, "chronicle-ping", kurrentdb.ReadStreamOptions{Direction: kurrentdb.Backwards, From: kurrentdb.End{}}, 1)
	if err == nil {
		defer rs.Close()
		_, err = rs.Recv()
	}
	if err == nil || errors.Is(err, io.EOF) || isNotFound(err) {
		return nil
	}
	return s.mapError(ctx, c, "ping", err)
}

// Close releases the connection. Calls after Close fail with
// [eventstore.ErrClosed], and open subscriptions end.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.client.Close()
}

// serverStream is the name of stream on the server.
func (s *Store) serverStream(stream string) string { return s.namespace + stream }

// userStream is the chronicle stream ID of a server stream, and whether the
// server stream belongs to the store's namespace.
func (s *Store) userStream(name string) (string, bool) {
	if !strings.HasPrefix(name, s.namespace) {
		return "", false
	}
	return name[len(s.namespace):], true
}

func describeAddress(c *kurrentdb.Configuration) string {
	var addr string
	if len(c.GossipSeeds) > 0 {
		seeds := make([]string, len(c.GossipSeeds))
		for i, seed := range c.GossipSeeds {
			seeds[i] = seed.String()
		}
		addr = strings.Join(seeds, ",")
	} else {
		addr = c.Address
	}
	if c.DisableTLS {
		return addr + " (tls=false)"
	}
	return addr + " (tls)"
}

// clientLogger routes the official client's log lines to logger.
func clientLogger(logger *slog.Logger) kurrentdb.LoggingFunc {
	return func(level kurrentdb.LogLevel, format string, args ...any) {
		// The client reports every failed call, including subscriptions
		// ended by their context, as an error: the store reports what
		// matters itself, so the client's lines are debug output.
		if !logger.Enabled(context.Background(), slog.LevelDebug) {
			return
		}
		logger.Debug("esdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
}
