package inbox

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

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Handler applies one message's effects inside the unit of work tx, which
// also records the message as processed: both commit, or neither. It may
// run again for the same message after a failure (its writes were then
// rolled back), never twice in one committed state.
type Handler[Tx any] interface {
	Handle(ctx context.Context, tx Tx, m broker.Message) error
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc[Tx any] func(ctx context.Context, tx Tx, m broker.Message) error

// Handle calls f.
func (f HandlerFunc[Tx]) Handle(ctx context.Context, tx Tx, m broker.Message) error {
	return f(ctx, tx, m)
}

// Store keeps which messages a consumer has processed, and its parked
// messages. Implementations must be safe for concurrent use.
type Store[Tx any] interface {
	// Commit runs apply in one unit of work together with recording ids
	// as processed by consumer. apply is told which of ids are new (fresh
	// reports it by index); an error from apply is returned as is, with
	// nothing recorded.
	Commit(ctx context.Context, consumer string, ids []string, apply func(ctx context.Context, tx Tx, fresh func(i int) bool) error) error
	// Fail counts one more failed attempt at m and returns the count.
	Fail(ctx context.Context, consumer string, m broker.Message, cause error) (attempts int, err error)
	// Park records m as parked with its error; Resolve forgets failed
	// attempts of ids that have since been processed.
	Park(ctx context.Context, consumer string, m broker.Message, cause error, attempts int) error
	Resolve(ctx context.Context, consumer string, ids []string) error
	// Parked lists consumer's parked messages, oldest first.
	Parked(ctx context.Context, consumer string) ([]Parked, error)
	// Prune deletes the processed records of consumer older than before
	// and returns how many.
	Prune(ctx context.Context, consumer string, before time.Time) (int, error)
}

// Parked is a message an inbox gave up on.
type Parked struct {
	Consumer string
	Message  broker.Message
	Error    string
	Attempts int
	ParkedAt time.Time
}

// Defaults of [Config]: a zero field takes its default.
const (
	DefaultBatchSize     = 100
	DefaultMaxAttempts   = 5
	DefaultBackoff       = 100 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second // or Backoff, if that is longer
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultPruneInterval = time.Hour
)

// Config configures an [Inbox]. Name is required; the rest has defaults.
type Config struct {
	// Name is the consumer's name: the key of its processed records.
	// Processes consuming one queue or durable consumer share it.
	Name string
	// BatchSize is the most messages applied in one unit of work (default
	// 100).
	BatchSize int
	// MaxAttempts is how many times a message is tried before it is parked
	// (default 5).
	MaxAttempts int
	// Backoff is the redelivery delay after a first failure, doubled after
	// each further one up to MaxBackoff (defaults 100ms and 10s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Retention is how long processed records are kept (default 7 days);
	// PruneInterval how often Run prunes them (default 1h).
	Retention     time.Duration
	PruneInterval time.Duration
	// Hooks observe handling (tracing, metrics); see [Hooks].
	Hooks Hooks
	// Logger receives the inbox's logs; nil discards them.
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive a consumer span per
	// message handled (a child of the trace context the message carries)
	// and the inbox's metrics (see docs/observability.md); nil means the
	// global providers, which do nothing until the application installs an
	// OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Hooks let tracing and metrics observe an inbox without it importing
// them. Every field is optional.
type Hooks struct {
	// Handle is called before the handler runs on a new message; the
	// context it returns is the handler's (one carrying a span continued
	// from the message's traceparent, say), and the function it returns,
	// if not nil, is called with the handler's error. A handler may run
	// again for one message after its batch rolled back.
	Handle func(ctx context.Context, m broker.Message) (context.Context, func(err error))
	// Committed is called after a unit of work committed, with the
	// messages whose effects it applied (duplicates left out).
	Committed func(ctx context.Context, applied []broker.Message)
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("inbox: config: empty Name"))
	}
	for name, v := range map[string]int64{"BatchSize": int64(c.BatchSize), "MaxAttempts": int64(c.MaxAttempts),
		"Backoff": int64(c.Backoff), "MaxBackoff": int64(c.MaxBackoff), "Retention": int64(c.Retention),
		"PruneInterval": int64(c.PruneInterval)} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("inbox: config: %s is negative (%d)", name, v))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, max(DefaultMaxBackoff, c.Backoff))
	c.Retention = cmp.Or(c.Retention, DefaultRetention)
	c.PruneInterval = cmp.Or(c.PruneInterval, DefaultPruneInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats counts what one [Inbox] did since it was made.
type Stats struct {
	// Received counts deliveries; Applied the messages whose effects
	// committed; Duplicates the deliveries of messages already processed.
	Received, Applied, Duplicates uint64
	// Retried counts failed attempts given back to the broker; Parked the
	// messages given up on.
	Retried, Parked uint64
	// LastAppliedAt is when the last message's effects committed.
	LastAppliedAt time.Time
	// LastError is the most recent handler or store error.
	LastError string
}

// Inbox receives messages and applies each once. Build it with [New] and
// call Run.
type Inbox[Tx any] struct {
	cons  broker.Consumer
	store Store[Tx]
	h     Handler[Tx]
	cfg   Config
	log   *slog.Logger

	tel    *instruments
	mu     sync.Mutex
	stats  Stats
	failed map[string]bool // IDs with failed attempts recorded in the store
}

// New returns an inbox receiving from cons and recording in store.
func New[Tx any](cons broker.Consumer, store Store[Tx], h Handler[Tx], cfg Config) (*Inbox[Tx], error) {
	var errs []error
	if cons == nil {
		errs = append(errs, errors.New("inbox: nil consumer"))
	}
	if store == nil {
		errs = append(errs, errors.New("inbox: nil store"))
	}
	if h == nil {
		errs = append(errs, errors.New("inbox: nil handler"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg = cfg.withDefaults()
	return &Inbox[Tx]{cons: cons, store: store, h: h, cfg: cfg, log: cfg.Logger.With("inbox", cfg.Name), failed: map[string]bool{},
		tel: newInstruments(cfg)}, nil
}

// Name returns the consumer's name.
func (in *Inbox[Tx]) Name() string { return in.cfg.Name }

// Stats returns the inbox's counters.
func (in *Inbox[Tx]) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats
}

func (in *Inbox[Tx]) count(fn func(*Stats)) {
	in.mu.Lock()
	fn(&in.stats)
	in.mu.Unlock()
}

// Run receives and applies messages until ctx ends, then returns nil.
// Broker and store errors are logged and retried after a pause.
func (in *Inbox[Tx]) Run(ctx context.Context) error {
	lastPrune := time.Time{}
	pause := backoff.Backoff{Min: in.cfg.Backoff, Max: in.cfg.MaxBackoff}
	for ctx.Err() == nil {
		if time.Since(lastPrune) >= in.cfg.PruneInterval {
			lastPrune = time.Now()
			if n, err := in.store.Prune(ctx, in.cfg.Name, lastPrune.Add(-in.cfg.Retention)); err != nil && ctx.Err() == nil {
				in.log.Warn("prune failed", "error", err)
			} else if n > 0 {
				in.log.Info("pruned processed records", "count", n)
			}
		}
		ds, err := in.cons.Receive(ctx, in.cfg.BatchSize)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, broker.ErrClosed) {
				return err
			}
			in.note(err)
			in.log.Warn("receive failed", "error", err)
			backoff.Sleep(ctx, pause.Next())
			continue
		}
		if err := in.handle(ctx, ds); err != nil && ctx.Err() == nil {
			in.note(err)
			in.log.Warn("batch failed", "error", err)
			backoff.Sleep(ctx, pause.Next())
			continue
		}
		pause.Reset()
	}
	return nil
}

func (in *Inbox[Tx]) note(err error) {
	in.count(func(s *Stats) { s.LastError = err.Error() })
}

type received struct {
	d   broker.Delivery
	m   broker.Message
	err error
}

// handle applies one received batch and settles every delivery of it.
// An error means the store failed: the unsettled deliveries are given
// back.
func (in *Inbox[Tx]) handle(ctx context.Context, ds []broker.Delivery) error {
	in.count(func(s *Stats) { s.Received += uint64(len(ds)) })
	batch := make([]received, 0, len(ds))
	for _, d := range ds {
		m, err := d.Message()
		if err != nil {
			// Not a CloudEvent: no retry can help.
			if perr := in.park(ctx, d, m, err, d.Attempt()); perr != nil {
				return perr
			}
			continue
		}
		batch = append(batch, received{d: d, m: m})
	}
	if len(batch) == 0 {
		return nil
	}
	return in.apply(ctx, batch)
}

// apply commits batch; when a handler fails on one message, the messages
// before it commit on their own, the failing one is retried or parked
// (without running its handler again), and the rest go on.
func (in *Inbox[Tx]) apply(ctx context.Context, batch []received) error {
	if len(batch) == 0 {
		return nil
	}
	err := in.commit(ctx, batch)
	if err == nil {
		return nil
	}
	var herr *handlerError
	if !errors.As(err, &herr) {
		in.giveBack(ctx, batch)
		return err
	}
	k := herr.index
	if err := in.apply(ctx, batch[:k]); err != nil {
		in.giveBack(ctx, batch[k:])
		return err
	}
	if err := in.fail(ctx, batch[k], herr.err); err != nil {
		in.giveBack(ctx, batch[k+1:])
		return err
	}
	return in.apply(ctx, batch[k+1:])
}

// handlerError is a handler's failure on batch[index].
type handlerError struct {
	err   error
	index int
}

func (e *handlerError) Error() string { return e.err.Error() }

// commit applies batch in one unit of work and acks it.
func (in *Inbox[Tx]) commit(ctx context.Context, batch []received) error {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.m.ID
	}
	applied, dups := 0, 0
	var done []broker.Message
	err := in.store.Commit(ctx, in.cfg.Name, ids, func(ctx context.Context, tx Tx, fresh func(int) bool) error {
		applied, dups, done = 0, 0, done[:0]
		for i, r := range batch {
			if !fresh(i) {
				dups++
				continue
			}
			if in.cfg.Hooks.Committed != nil {
				done = append(done, r.m)
			}
			hctx, span := in.tel.process(ctx, r.m, r.d.Attempt())
			finish := func(error) {}
			if in.cfg.Hooks.Handle != nil {
				var f func(error)
				if hctx, f = in.cfg.Hooks.Handle(hctx, r.m); f != nil {
					finish = f
				}
			}
			err := in.h.Handle(hctx, tx, r.m)
			finish(err)
			if err != nil {
				telemetry.End(span, err)
				return &handlerError{fmt.Errorf("inbox %s: message %s (%s, subject %q): %w", in.cfg.Name, r.m.ID, r.m.Type, r.m.Subject, err), i}
			}
			span.End()
			applied++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if in.cfg.Hooks.Committed != nil && len(done) > 0 {
		in.cfg.Hooks.Committed(ctx, done)
	}
	now := time.Now()
	in.tel.counted(ctx, applied, dups)
	in.count(func(s *Stats) {
		s.Applied += uint64(applied)
		s.Duplicates += uint64(dups)
		if applied > 0 {
			s.LastAppliedAt = now
		}
	})
	var resolved []string
	in.mu.Lock()
	for _, id := range ids {
		if in.failed[id] {
			delete(in.failed, id)
			resolved = append(resolved, id)
		}
	}
	in.mu.Unlock()
	if len(resolved) > 0 {
		if err := in.store.Resolve(ctx, in.cfg.Name, resolved); err != nil {
			in.log.Warn("forgetting failed attempts failed", "error", err)
		}
	}
	for _, r := range batch {
		if err := r.d.Ack(ctx); err != nil {
			// The effect is committed; the broker delivers again and the
			// record stops it.
			in.log.Debug("ack lost", "id", r.m.ID, "error", err)
		}
	}
	return nil
}

// fail counts a failed attempt and either gives the delivery back after a
// back-off or parks it.
func (in *Inbox[Tx]) fail(ctx context.Context, r received, cause error) error {
	in.note(cause)
	attempts, err := in.store.Fail(ctx, in.cfg.Name, r.m, cause)
	if err != nil {
		in.giveBack(ctx, []received{r})
		return err
	}
	attempts = max(attempts, r.d.Attempt())
	if attempts >= in.cfg.MaxAttempts {
		in.log.Error("parking a message that keeps failing", "id", r.m.ID, "type", r.m.Type, "attempts", attempts, "error", cause)
		return in.park(ctx, r.d, r.m, cause, attempts)
	}
	in.mu.Lock()
	in.failed[r.m.ID] = true
	in.mu.Unlock()
	in.count(func(s *Stats) { s.Retried++ })
	delay := backoff.Equal.Delay(in.cfg.Backoff, in.cfg.MaxBackoff, attempts)
	in.log.Warn("handler failed; retrying", "id", r.m.ID, "attempt", attempts, "in", delay, "error", cause)
	if err := r.d.Retry(ctx, delay); err != nil {
		in.log.Debug("retry lost", "id", r.m.ID, "error", err)
	}
	return nil
}

func (in *Inbox[Tx]) park(ctx context.Context, d broker.Delivery, m broker.Message, cause error, attempts int) error {
	if err := in.store.Park(ctx, in.cfg.Name, m, cause, attempts); err != nil {
		_ = d.Retry(ctx, in.cfg.Backoff)
		return err
	}
	in.mu.Lock()
	delete(in.failed, m.ID)
	in.mu.Unlock()
	in.count(func(s *Stats) { s.Parked++ })
	in.tel.parkedOne(ctx)
	if err := d.Ack(ctx); err != nil {
		in.log.Debug("ack of a parked message lost", "id", m.ID, "error", err)
	}
	return nil
}

func (in *Inbox[Tx]) giveBack(ctx context.Context, batch []received) {
	for _, r := range batch {
		_ = r.d.Retry(context.WithoutCancel(ctx), in.cfg.Backoff)
	}
}
