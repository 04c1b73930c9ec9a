package projection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// Defaults of [Config]: a zero field takes its default.
const (
	DefaultBatchSize        = 1000
	DefaultRebuildBatchSize = 5000
	DefaultMaxAttempts      = 5
	DefaultBackoff          = 100 * time.Millisecond
	DefaultMaxBackoff       = 10 * time.Second // or Backoff, if that is longer
	DefaultPollInterval     = time.Second
)

// Config configures a [Runner]. The zero value works.
type Config struct {
	// BatchSize is the most events applied in one unit of work while
	// following the log (default 1000).
	BatchSize int
	// RebuildBatchSize is the batch size of a rebuild's replay (default
	// 5000).
	RebuildBatchSize int
	// MaxAttempts is how many times an event is tried before the projection
	// stops at it (default 5).
	MaxAttempts int
	// Backoff is the pause after a first failed attempt, doubled after each
	// further one up to MaxBackoff (defaults 100ms and 10s). Pauses are
	// jittered: each later one is drawn from the upper half of its nominal
	// value, never below Backoff nor above MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// PollInterval is how often a projection stopped at a failed event
	// looks for an operator's skip or retry made by another process, and
	// the pause before claiming again after an error (default 1s).
	PollInterval time.Duration
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive a span per batch and the
	// projections' metrics, lag included (see docs/observability.md); nil
	// means the global providers, which do nothing until the application
	// installs an OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("projection: config: %s is negative (%d)", name, v))
		}
	}
	check("BatchSize", int64(c.BatchSize))
	check("RebuildBatchSize", int64(c.RebuildBatchSize))
	check("MaxAttempts", int64(c.MaxAttempts))
	check("Backoff", int64(c.Backoff))
	check("MaxBackoff", int64(c.MaxBackoff))
	check("PollInterval", int64(c.PollInterval))
	if c.Backoff > 0 && c.MaxBackoff > 0 && c.MaxBackoff < c.Backoff {
		errs = append(errs, fmt.Errorf("projection: config: MaxBackoff %v is below Backoff %v", c.MaxBackoff, c.Backoff))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.RebuildBatchSize = cmp.Or(c.RebuildBatchSize, DefaultRebuildBatchSize)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, max(DefaultMaxBackoff, c.Backoff))
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Runner runs projections: for each, it claims ownership from the
// [CheckpointStore] (waiting as a standby while another runner owns it),
// reads the log from the checkpoint in batches through the store's
// subscription, applies each batch with the checkpoint in one unit of work,
// and then follows the log live. It works with every [eventstore.Store].
//
// # Failures
//
// A batch whose handler fails is rolled back and its events are applied one
// by one; the failing event is tried up to MaxAttempts times with doubling
// back-off, then the projection stops there ([Failed]) with the event and
// the error recorded. It never skips an event on its own: an operator calls
// [Runner.Skip], [Runner.Retry] or [Runner.Rebuild] (or the store's Skip and
// Retry from another process).
//
// # Ownership
//
// If the claim is lost (in PostgreSQL, the connection holding the advisory
// lock died) the runner drops what it was doing, nothing of it committed,
// and claims again; meanwhile a standby may have taken over.
type Runner[Tx any] struct {
	store   eventstore.Store
	cps     CheckpointStore[Tx]
	cfg     Config
	log     *slog.Logger
	workers map[string]*worker[Tx]
	names   []string

	mu      sync.Mutex
	running bool
	done    chan struct{}

	tel       *instruments
	commits   sync.Mutex
	committed chan struct{} // closed at the next commit; see WaitFor
}

// NewRunner returns a runner for projections over store, keeping
// checkpoints in cps. It reports every mistake in cfg and in the
// projections' definitions, and duplicate names, at once.
func NewRunner[Tx any](store eventstore.Store, cps CheckpointStore[Tx], cfg Config, projections ...*Projection[Tx]) (*Runner[Tx], error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("projection: nil event store"))
	}
	if cps == nil {
		errs = append(errs, errors.New("projection: nil checkpoint store"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	cfg = cfg.withDefaults()
	r := &Runner[Tx]{store: store, cps: cps, cfg: cfg, log: cfg.Logger, workers: make(map[string]*worker[Tx]), tel: newInstruments(cfg)}
	for _, p := range projections {
		if p == nil {
			errs = append(errs, errors.New("projection: nil projection"))
			continue
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
		if _, dup := r.workers[p.name]; dup {
			errs = append(errs, fmt.Errorf("projection: two projections named %q", p.name))
			continue
		}
		r.workers[p.name] = &worker[Tx]{r: r, p: p, filter: p.Filter(),
			rebuild: make(chan *rebuildRequest), wake: make(chan struct{}, 1)}
		r.names = append(r.names, p.name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(r.names)
	return r, nil
}

// ErrRunnerStopped: a call that needs a running [Runner] found it stopped.
var ErrRunnerStopped = errors.New("projection: runner stopped")

// Run runs every projection until ctx is cancelled, then releases their
// claims and returns nil. A runner runs once at a time.
func (r *Runner[Tx]) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("projection: runner is already running")
	}
	r.running = true
	r.done = make(chan struct{})
	r.mu.Unlock()
	defer r.tel.register(r)()
	var wg sync.WaitGroup
	for _, name := range r.names {
		w := r.workers[name]
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	r.mu.Lock()
	r.running = false
	close(r.done)
	r.mu.Unlock()
	return nil
}

// Skip moves the failed projection name past the event it is stopped at;
// Retry makes it try that event again. See [CheckpointStore].
func (r *Runner[Tx]) Skip(ctx context.Context, name string) error {
	return r.resume(ctx, name, r.cps.Skip)
}

// Retry makes the failed projection name try its failed event again.
func (r *Runner[Tx]) Retry(ctx context.Context, name string) error {
	return r.resume(ctx, name, r.cps.Retry)
}

func (r *Runner[Tx]) resume(ctx context.Context, name string, fn func(context.Context, string) error) error {
	w := r.workers[name]
	if w == nil {
		return r.unknown(name)
	}
	if err := fn(ctx, name); err != nil {
		return err
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Status returns the status of every projection in the checkpoint store.
func (r *Runner[Tx]) Status(ctx context.Context) ([]Status, error) {
	recs, err := r.cps.Records(ctx)
	if err != nil {
		return nil, err
	}
	return Describe(ctx, r.store, recs...)
}

// worker runs one projection.
type worker[Tx any] struct {
	r       *Runner[Tx]
	p       *Projection[Tx]
	filter  eventstore.Filter
	rebuild chan *rebuildRequest
	wake    chan struct{}
}

func (w *worker[Tx]) run(ctx context.Context) {
	log := w.r.log.With("projection", w.p.name)
	for ctx.Err() == nil {
		claim, err := w.r.cps.Claim(ctx, w.p.name, w.filter)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claim failed", "error", err)
				backoff.Sleep(ctx, w.r.cfg.PollInterval)
			}
			continue
		}
		log.Info("claimed")
		err = w.serve(ctx, claim)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := claim.Release(rctx); rerr != nil && ctx.Err() == nil {
			log.Warn("release failed", "error", rerr)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		log.Warn("lost or gave up ownership; claiming again", "error", err)
		backoff.Sleep(ctx, w.r.cfg.PollInterval/4)
	}
}

// serve runs the projection while claim holds; it returns why it stopped.
func (w *worker[Tx]) serve(ctx context.Context, claim Claim[Tx]) error {
	rec, err := claim.Record(ctx)
	if err != nil {
		return err
	}
	for {
		switch rec.State {
		case Failed:
			err = w.waitFailed(ctx, claim, &rec)
		case Rebuilding:
			// A rebuild was interrupted: finish the replay.
			err = w.replay(ctx, claim, &rec, RebuildOptions{}, nil)
		default:
			err = w.live(ctx, claim, &rec)
		}
		if err != nil {
			return err
		}
	}
}

var errRebuildRequested = errors.New("projection: rebuild requested")

// live follows the log until the projection fails (returns nil with
// rec.State Failed), a rebuild is requested (runs it), or the claim or the
// subscription ends (returns the error).
//
// A rebuild request or the claim's loss stops the reading, never a batch
// under way: the batch's unit of work runs on ctx, which only the runner's
// end cancels. (Cancelling the context of a statement in flight makes pgx
// close its connection, and a PostgreSQL claim's lock with it.) So a
// rebuild waits for at most one batch, and starts on a claim that holds.
func (w *worker[Tx]) live(ctx context.Context, claim Claim[Tx], rec *Record) error {
	readCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var req *rebuildRequest
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case q := <-w.rebuild:
			req = q
			cancel(errRebuildRequested)
		case <-claim.Lost():
			cancel(ErrClaimLost)
		case <-stop:
		}
	}()
	err := w.follow(ctx, readCtx, claim, rec)
	close(stop)
	<-watched
	switch {
	case req != nil:
		return w.runRebuild(ctx, claim, rec, req)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(context.Cause(readCtx), ErrClaimLost):
		return ErrClaimLost
	}
	return err
}

// follow applies the log from rec.Checkpoint, read through readCtx, on ctx,
// until readCtx ends (between batches), the projection fails, or an error.
// A read that fails on an event the store cannot return is retried, then
// stops the projection at it (see unreadable).
func (w *worker[Tx]) follow(ctx, readCtx context.Context, claim Claim[Tx], rec *Record) error {
	var stuck stuckRead
	for {
		err := w.followFrom(ctx, readCtx, claim, rec)
		ue, ok := asUnreadable(err, rec)
		if !ok || readCtx.Err() != nil {
			return err
		}
		if again, err := w.unreadable(ctx, readCtx, claim, rec, ue, &stuck); !again || err != nil {
			return err
		}
	}
}

// followFrom subscribes from rec.Checkpoint and applies what it reads.
func (w *worker[Tx]) followFrom(ctx, readCtx context.Context, claim Claim[Tx], rec *Record) error {
	for batch, err := range Batches(readCtx, w.r.store, rec.Checkpoint, w.filter, w.r.cfg.BatchSize) {
		if err != nil {
			return err
		}
		if err := w.applyBatch(ctx, readCtx, claim, rec, batch); err != nil {
			return err
		}
		if rec.State == Failed {
			return nil
		}
		if readCtx.Err() != nil {
			return context.Cause(readCtx)
		}
	}
	if readCtx.Err() != nil {
		return context.Cause(readCtx)
	}
	return nil // the subscription ran out: follow it again
}

// waitFailed waits, while the projection is stopped at a failed event, for
// an operator to skip or retry it, or for a rebuild request.
func (w *worker[Tx]) waitFailed(ctx context.Context, claim Claim[Tx], rec *Record) error {
	t := time.NewTicker(w.r.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-claim.Lost():
			return ErrClaimLost
		case req := <-w.rebuild:
			return w.runRebuild(ctx, claim, rec, req)
		case <-t.C:
		case <-w.wake:
		}
		r, err := claim.Record(ctx)
		if err != nil {
			return err
		}
		if r.State != Failed {
			*rec = r
			return nil
		}
	}
}

// unknown is the error for a projection name this runner does not run; it
// lists those it does.
func (r *Runner[Tx]) unknown(name string) error {
	return fmt.Errorf("%w: %q (this runner runs %s)", ErrUnknownProjection, name, strings.Join(r.names, ", "))
}
