package saga

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Defaults of [Config]: a zero field takes its default.
const (
	DefaultBatchSize       = 256
	DefaultHandlerAttempts = 3
	DefaultHandlerBackoff  = 10 * time.Millisecond
	DefaultDispatchBatch   = 128
	DefaultDispatchWorkers = 16
	DefaultReserveFor      = 30 * time.Second
	DefaultRetryMin        = 100 * time.Millisecond
	DefaultRetryMax        = time.Minute
	DefaultPollInterval    = 250 * time.Millisecond
	DefaultDeadlineBatch   = 64
)

// Config configures an [Engine]. The zero value works: every field has a
// default (the Default constants), applied by [NewEngine].
type Config struct {
	// Clock reads the time for deadlines and retries; default [SystemClock].
	Clock Clock
	// Logger receives warnings (failed sends, parked events, lost leases);
	// default: discard.
	Logger *slog.Logger

	// BatchSize caps the events handled in one transaction; default 256.
	BatchSize int
	// HandlerAttempts is how many times a failing handler runs on one event
	// before the event is parked; default 3. HandlerBackoff is the pause
	// between tries; default 10ms.
	HandlerAttempts int
	HandlerBackoff  time.Duration

	// DispatchBatch caps the commands reserved per dispatcher round; default
	// 128. DispatchWorkers sends that many commands at once; default 16.
	DispatchBatch   int
	DispatchWorkers int
	// ReserveFor is how long a reserved command or deadline stays reserved
	// for the reserving process; if it crashes, another takes the row after
	// this. Default 30s.
	ReserveFor time.Duration
	// RetryMin and RetryMax bound the exponential back-off between sends of
	// a failing command, and between retries of a batch whose commit failed;
	// defaults 100ms and 1m. Pauses are jittered: each later one is drawn
	// from the upper half of its nominal value, never below RetryMin nor
	// above RetryMax.
	RetryMin, RetryMax time.Duration

	// PollInterval is how often the dispatcher and the deadline scheduler
	// look for work written by other processes (the engine wakes its own
	// dispatcher directly); default 250ms. DeadlineBatch caps the deadlines
	// fired per round; default 64.
	PollInterval  time.Duration
	DeadlineBatch int

	// TracerProvider and MeterProvider receive the engine's spans (event
	// handling, sends, compensations, deadlines) and metrics (see
	// docs/observability.md); nil means the global providers, which do
	// nothing until the application installs an OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Validate reports every problem with c at once. Zero values are fine: they
// mean the default.
func (c Config) Validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, name, v))
		}
	}
	neg("BatchSize", int64(c.BatchSize))
	neg("HandlerAttempts", int64(c.HandlerAttempts))
	neg("HandlerBackoff", int64(c.HandlerBackoff))
	neg("DispatchBatch", int64(c.DispatchBatch))
	neg("DispatchWorkers", int64(c.DispatchWorkers))
	neg("ReserveFor", int64(c.ReserveFor))
	neg("RetryMin", int64(c.RetryMin))
	neg("RetryMax", int64(c.RetryMax))
	neg("PollInterval", int64(c.PollInterval))
	neg("DeadlineBatch", int64(c.DeadlineBatch))
	if c.RetryMin > 0 && c.RetryMax > 0 && c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("%w: RetryMax %v is below RetryMin %v", ErrInvalidConfig, c.RetryMax, c.RetryMin))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = SystemClock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.HandlerAttempts = cmp.Or(c.HandlerAttempts, DefaultHandlerAttempts)
	c.HandlerBackoff = cmp.Or(c.HandlerBackoff, DefaultHandlerBackoff)
	c.DispatchBatch = cmp.Or(c.DispatchBatch, DefaultDispatchBatch)
	c.DispatchWorkers = cmp.Or(c.DispatchWorkers, DefaultDispatchWorkers)
	c.ReserveFor = cmp.Or(c.ReserveFor, DefaultReserveFor)
	c.RetryMin = cmp.Or(c.RetryMin, DefaultRetryMin)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.DeadlineBatch = cmp.Or(c.DeadlineBatch, DefaultDeadlineBatch)
	return c
}

// Engine runs one saga definition: it follows the global log from its
// checkpoint and handles events ([Engine.Run]), sends the outbox
// ([Engine.Dispatch]) and fires deadlines ([Engine.FireDeadlines]).
//
// Run as many engines of one saga as you like, in one or several processes,
// on one [Store]: one of them at a time owns the event subscription (the
// others wait as standbys), while every one of them dispatches commands and
// fires deadlines, sharing the rows.
type Engine struct {
	def    runtime
	store  Store
	events eventstore.Store
	sender Sender
	cfg    Config
	log    *slog.Logger

	wake chan struct{} // pokes the dispatcher after a commit with commands
	tel  *instruments

	commits   sync.Mutex
	committed chan struct{} // closed at the next checkpoint move; see WaitFor

	mu    sync.Mutex
	owner bool
}

// NewEngine returns an engine for d. events is the store whose global log
// the engine follows (it may be nil for an engine that only dispatches and
// fires deadlines); sender delivers the outbox.
func NewEngine[S any](d *Definition[S], store Store, events eventstore.Store, sender Sender, cfg Config) (*Engine, error) {
	var errs []error
	if d == nil {
		return nil, fmt.Errorf("%w: nil definition", ErrInvalidDefinition)
	}
	if err := d.Validate(); err != nil {
		errs = append(errs, err)
	}
	if store == nil {
		errs = append(errs, fmt.Errorf("%w: nil Store", ErrInvalidConfig))
	}
	if sender == nil {
		errs = append(errs, fmt.Errorf("%w: nil Sender", ErrInvalidConfig))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Engine{
		def: d, store: store, events: events, sender: sender, cfg: cfg,
		log:  cfg.Logger.With("saga", d.Name()),
		wake: make(chan struct{}, 1),
		tel:  newInstruments(cfg),
	}, nil
}

// Name returns the saga type name.
func (e *Engine) Name() string { return e.def.sagaName() }

// Owner reports whether this engine currently owns the event subscription.
func (e *Engine) Owner() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.owner
}

func (e *Engine) setOwner(v bool) {
	e.mu.Lock()
	e.owner = v
	e.mu.Unlock()
}

// Run follows the event log (when this engine holds the subscription
// lease; otherwise it waits as a standby), dispatches the outbox and fires
// deadlines until ctx ends. It returns ctx's error.
func (e *Engine) Run(ctx context.Context) error {
	defer e.tel.register(e)()
	var wg sync.WaitGroup
	if e.events != nil {
		wg.Go(func() { e.follow(ctx) })
	}
	wg.Go(func() { e.dispatchLoop(ctx) })
	wg.Go(func() { e.deadlineLoop(ctx) })
	wg.Wait()
	return ctx.Err()
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}
