package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Defaults of [Config]: a zero field takes its default.
const (
	// DefaultSnapshotEvery is the N of the default SnapshotPolicy,
	// EveryN(N), when Snapshots is set.
	DefaultSnapshotEvery  = 100
	DefaultSnapshotSchema = 1
	DefaultReplayWindow   = 1000
)

// Config configures a [Repository] for one aggregate type. Only Type is
// required; every other zero field takes its default.
type Config[T Aggregate] struct {
	// Type names the aggregate type ("order"): a stable name, not a Go type
	// name. It prefixes stream IDs and is stored with snapshots.
	Type string
	// New returns a fresh, empty aggregate. By default, for a T that is a
	// pointer to a struct, a pointer to a new zero struct.
	New func() T
	// StreamID maps an aggregate ID to its stream ID; by default
	// Type + "-" + id ("order-42").
	StreamID func(id string) string

	// Snapshots stores snapshots; nil means no snapshots.
	Snapshots SnapshotStore
	// SnapshotPolicy decides when a save also stores a snapshot; by default
	// EveryN([DefaultSnapshotEvery]) when Snapshots is set.
	SnapshotPolicy SnapshotPolicy
	// SnapshotSchema is the version of the snapshot's shape (default [DefaultSnapshotSchema]).
	// Raise it whenever the aggregate's encoded state changes shape: stored
	// snapshots of any other version are then ignored and the aggregate is
	// loaded from its events, never misread.
	SnapshotSchema int
	// SnapshotCodec encodes the aggregate's state in snapshots; JSON by
	// default (exported fields, or the type's own json.Marshaler).
	SnapshotCodec eventstore.Codec

	// ReplayWindow bounds the slow path of idempotency (see
	// [Unit.FindApplied]): when a command re-sent through the bus fails or
	// decides nothing on an aggregate loaded from a snapshot, the last this
	// many events up to the snapshot's version are searched for the
	// command's original events (default [DefaultReplayWindow]). A re-sent command never appends twice
	// whatever the window; the window decides how far back it is still
	// answered with its original result rather than the handler's answer.
	ReplayWindow uint64

	// Logger receives warnings (a snapshot that could not be read or
	// written); discarded by default.
	Logger *slog.Logger

	// TracerProvider receives the spans of loads and saves (see
	// docs/observability.md); nil means the global provider, which does
	// nothing until the application installs an OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
}

// Validate reports every problem with c at once.
func (c Config[T]) Validate() error {
	var errs []error
	switch {
	case c.Type == "":
		errs = append(errs, errors.New("aggregate: Config.Type is empty"))
	case !utf8.ValidString(c.Type):
		errs = append(errs, errors.New("aggregate: Config.Type is not valid UTF-8"))
	default:
		for _, r := range c.Type {
			if unicode.IsControl(r) {
				errs = append(errs, fmt.Errorf("aggregate: Config.Type %q holds a control character", c.Type))
				break
			}
		}
	}
	if c.New == nil {
		t := reflect.TypeFor[T]()
		switch {
		case t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct:
			errs = append(errs, fmt.Errorf("aggregate: Config.New is nil and %v is not a pointer to a struct", t))
		case t.Implements(reflect.TypeFor[deciderState]()):
			errs = append(errs, fmt.Errorf("aggregate: Config.New is nil for %v: set it to the decider's New method", t))
		}
	}
	if c.SnapshotSchema < 0 {
		errs = append(errs, fmt.Errorf("aggregate: Config.SnapshotSchema is %d, want 1 or more (0 for the default)", c.SnapshotSchema))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config[T]) withDefaults() Config[T] {
	if c.New == nil {
		elem := reflect.TypeFor[T]().Elem()
		c.New = func() T { return reflect.New(elem).Interface().(T) }
	}
	if c.StreamID == nil {
		prefix := c.Type + "-"
		c.StreamID = func(id string) string { return prefix + id }
	}
	if c.Snapshots != nil && c.SnapshotPolicy == nil {
		c.SnapshotPolicy = EveryN(DefaultSnapshotEvery)
	}
	c.SnapshotSchema = cmp.Or(c.SnapshotSchema, DefaultSnapshotSchema)
	if c.SnapshotCodec == nil {
		c.SnapshotCodec = eventstore.JSONCodec{}
	}
	c.ReplayWindow = cmp.Or(c.ReplayWindow, DefaultReplayWindow)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Repository loads and saves aggregates of type T from an event store. It
// is safe for concurrent use; the aggregates it returns are not.
type Repository[T Aggregate] struct {
	store    eventstore.Store
	registry *eventstore.Registry
	cfg      Config[T]
	atomic   AtomicSnapshotStore // set when Snapshots can share the store's transactions
	tracer   telemetry.Tracer
	spans    [2]string // the names of the load and save spans
}

// NewRepository returns a repository for aggregates of type T stored in
// store, whose events are encoded and decoded by registry.
func NewRepository[T Aggregate](store eventstore.Store, registry *eventstore.Registry, cfg Config[T]) (*Repository[T], error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("aggregate: nil event store"))
	}
	if registry == nil {
		errs = append(errs, errors.New("aggregate: nil registry"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &Repository[T]{store: store, registry: registry, cfg: cfg.withDefaults(), tracer: telemetry.NewTracer(cfg.TracerProvider, "aggregate"),
		spans: [2]string{"aggregate.load " + cfg.Type, "aggregate.save " + cfg.Type}}
	if a, ok := cfg.Snapshots.(AtomicSnapshotStore); ok && sameStore(a.EventStore(), store) {
		r.atomic = a
	}
	return r, nil
}

func sameStore(a, b eventstore.Store) bool {
	if a == nil || b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}

// StreamID returns the stream ID of the aggregate with the given ID.
func (r *Repository[T]) StreamID(id string) string { return r.cfg.StreamID(id) }

// Type returns the aggregate type name.
func (r *Repository[T]) Type() string { return r.cfg.Type }

// New returns a fresh aggregate with the given ID at version 0. Saving it
// creates its stream, and fails with a conflict if the stream exists.
func (r *Repository[T]) New(id string) (T, error) {
	if id == "" {
		var zero T
		return zero, fmt.Errorf("%w: empty ID for a new %s", ErrInvalidID, r.cfg.Type)
	}
	a := r.cfg.New()
	a.root().id = id
	return a, nil
}
