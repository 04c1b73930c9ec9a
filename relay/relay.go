package relay

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
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/batch"
)

// Defaults of [Config]: a zero field takes its default.
const (
	DefaultBatchSize          = 500
	DefaultMaxInFlight        = 1024
	DefaultCheckpointInterval = 200 * time.Millisecond
	DefaultBackoff            = 100 * time.Millisecond
	DefaultMaxBackoff         = 10 * time.Second // or Backoff, if that is longer
	DefaultRetryInterval      = time.Second
	DefaultReadAttempts       = 3
)

// Config configures a [Relay]. Name and Source are required; the rest has
// working defaults.
type Config struct {
	// Name identifies the relay's checkpoint and ownership: one owner per
	// name across processes. 1 to 200 bytes without control characters.
	Name string
	// Source is the CloudEvents source of the default mapping, a
	// URI-reference naming the producing context ("/shop/order").
	Source string
	// Filter narrows the subscription: event types and stream prefixes.
	Filter eventstore.Filter
	// Select, if set, is asked about each event passing Filter; events it
	// refuses are not published (the checkpoint moves past them).
	Select func(eventstore.RecordedEvent) bool
	// Map turns an event into the message to publish (default
	// [broker.FromEvent] with Source). An error parks the event.
	Map func(eventstore.RecordedEvent) (broker.Message, error)
	// BatchSize is how many events are read from the log at once (default
	// 500).
	BatchSize int
	// MaxInFlight bounds the messages published and not yet confirmed
	// (default 1024); the publisher's own window may be smaller.
	MaxInFlight int
	// CheckpointInterval is the longest the checkpoint lags behind what
	// the broker confirmed (default 200ms): it is written at most about
	// once per interval, and within an interval of the relay catching up.
	// A crash publishes again at most this much.
	CheckpointInterval time.Duration
	// Backoff and MaxBackoff bound the jittered, doubling pause after a
	// broker error (defaults 100ms and 10s).
	Backoff, MaxBackoff time.Duration
	// RetryInterval is how often the owner looks for parked messages an
	// operator asked to retry (default 1s).
	RetryInterval time.Duration
	// ReadAttempts is how many reads in a row may fail on the same event
	// the store cannot return (an [*eventstore.UnreadableEventError])
	// before the relay parks it and goes on (default 3); the reads are
	// spaced by the Backoff pauses.
	ReadAttempts int
	// Hooks observe publishing (tracing, metrics); see [Hooks].
	Hooks Hooks
	// TracerProvider and MeterProvider receive a producer span per
	// message (whose trace context the message carries) and the relay's
	// metrics (see docs/observability.md); nil means the global
	// providers, which do nothing until the application installs an
	// OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Logger receives the relay's logs; nil discards them.
	Logger *slog.Logger
}

// Hooks let tracing and metrics observe a relay without it importing
// them. Every field is optional.
type Hooks struct {
	// Publish is called before a message is published, with the event it
	// comes from; it may change the message (add a trace context, say). The
	// function it returns, if not nil, is called once with the broker's
	// answer (nil: stored).
	Publish func(ctx context.Context, e eventstore.RecordedEvent, m *broker.Message) (done func(err error))
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if err := ValidateName(c.Name); err != nil {
		errs = append(errs, err)
	}
	if c.Source == "" && c.Map == nil {
		errs = append(errs, errors.New("relay: config: empty Source (the default mapping needs one)"))
	}
	for name, v := range map[string]int64{"BatchSize": int64(c.BatchSize), "MaxInFlight": int64(c.MaxInFlight),
		"CheckpointInterval": int64(c.CheckpointInterval), "Backoff": int64(c.Backoff), "MaxBackoff": int64(c.MaxBackoff),
		"RetryInterval": int64(c.RetryInterval), "ReadAttempts": int64(c.ReadAttempts)} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("relay: config: %s is negative (%d)", name, v))
		}
	}
	return errors.Join(errs...)
}

// ValidateName reports whether name can name a relay.
func ValidateName(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("relay: name %q must be 1 to 200 bytes", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("relay: name %q holds a control character or invalid UTF-8", name)
		}
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Map == nil {
		src := c.Source
		c.Map = func(e eventstore.RecordedEvent) (broker.Message, error) { return broker.FromEvent(src, e), nil }
	}
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultMaxInFlight)
	c.CheckpointInterval = cmp.Or(c.CheckpointInterval, DefaultCheckpointInterval)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, max(DefaultMaxBackoff, c.Backoff))
	c.RetryInterval = cmp.Or(c.RetryInterval, DefaultRetryInterval)
	c.ReadAttempts = cmp.Or(c.ReadAttempts, DefaultReadAttempts)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Relay publishes the selected events of a log to a broker. Build it with
// [New] and call Run.
type Relay struct {
	store eventstore.Store
	state Store
	pub   broker.Publisher
	cfg   Config
	log   *slog.Logger

	mu       sync.Mutex
	inFlight int
	running  bool

	tel *instruments
}

// New returns a relay of store's events through pub, keeping its state in
// state. It reports every problem at once.
func New(store eventstore.Store, state Store, pub broker.Publisher, cfg Config) (*Relay, error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("relay: nil event store"))
	}
	if state == nil {
		errs = append(errs, errors.New("relay: nil state store"))
	}
	if pub == nil {
		errs = append(errs, errors.New("relay: nil publisher"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg = cfg.withDefaults()
	return &Relay{store: store, state: state, pub: pub, cfg: cfg, log: cfg.Logger.With("relay", cfg.Name), tel: newInstruments(cfg)}, nil
}

// Name returns the relay's name.
func (r *Relay) Name() string { return r.cfg.Name }

// Run relays until ctx is cancelled, then releases its claim and returns
// nil. While another process owns the relay, Run waits as a standby.
func (r *Relay) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("relay: already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()
	defer r.tel.register(r)()
	pause := backoff.Backoff{Min: r.cfg.Backoff, Max: r.cfg.MaxBackoff}
	for ctx.Err() == nil {
		claim, err := r.state.Claim(ctx, r.cfg.Name, r.cfg.Filter)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("claim failed", "error", err)
				backoff.Sleep(ctx, pause.Next())
			}
			continue
		}
		r.log.Info("claimed")
		err = r.serve(ctx, claim)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := claim.Release(rctx); rerr != nil && ctx.Err() == nil {
			r.log.Warn("release failed", "error", rerr)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("lost ownership; claiming again", "error", err)
		backoff.Sleep(ctx, pause.Next())
	}
	return nil
}

// serve relays while claim holds; it returns why it stopped.
func (r *Relay) serve(ctx context.Context, claim Claim) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-claim.Lost():
			cancel(ErrClaimLost)
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { r.retryLoop(ctx, claim) })
	pause := backoff.Backoff{Min: r.cfg.Backoff, Max: r.cfg.MaxBackoff}
	var stuck stuckRead
	for {
		rec, err := claim.Record(ctx)
		if err != nil {
			return r.stopped(ctx, err)
		}
		progressed, err := r.pipeline(ctx, claim, rec)
		if ctx.Err() != nil {
			return r.stopped(ctx, err)
		}
		if errors.Is(err, ErrFenced) || errors.Is(err, ErrClaimLost) {
			return err
		}
		if ue, ok := errors.AsType[*eventstore.UnreadableEventError](err); ok && ue.Position.After(rec.Checkpoint) {
			if err = r.unreadable(ctx, claim, ue, &stuck); err == nil || ctx.Err() != nil {
				continue
			}
			if errors.Is(err, ErrFenced) || errors.Is(err, ErrClaimLost) {
				return err
			}
		}
		r.log.Warn("publishing failed; publishing again from the checkpoint", "error", err)
		if ferr := claim.Failed(ctx, err.Error()); ferr != nil && ctx.Err() == nil {
			r.log.Warn("recording the error failed", "error", ferr)
		}
		if progressed {
			pause.Reset()
		}
		backoff.Sleep(ctx, pause.Next())
	}
}

func (r *Relay) stopped(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrClaimLost) {
		return ErrClaimLost
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// item is one event on its way: published (conf set), skipped, or to park.
type item struct {
	e      eventstore.RecordedEvent
	conf   broker.Confirmation
	msg    broker.Message
	park   error
	done   func(error)
	noSend bool
}

// pipeline reads the log from rec's checkpoint, publishes and advances the
// checkpoint behind the confirmations until an error; it reports whether
// the checkpoint moved.
func (r *Relay) pipeline(ctx context.Context, claim Claim, rec Record) (progressed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan item, r.cfg.MaxInFlight)
	readErr := make(chan error, 1)
	go func() {
		readErr <- r.read(ctx, rec.Checkpoint, queue)
		close(queue)
	}()
	defer func() {
		cancel()
		for it := range queue { // the reader has ended when queue closes
			r.addInFlight(-1)
			if it.done != nil {
				it.done(context.Canceled)
			}
		}
	}()

	from := rec.Checkpoint
	var to eventstore.Position
	var at time.Time
	published := 0
	var parked []Parked
	lastCommit := time.Now()
	flush := func() error {
		if to == (eventstore.Position{}) || !to.After(from) {
			return nil
		}
		if err := claim.Advance(ctx, from, to, at, published, parked); err != nil {
			return err
		}
		from, published, parked, lastCommit = to, 0, nil, time.Now()
		progressed = true
		return nil
	}
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-queue:
		default:
			// Caught up with what was published: write the checkpoint once
			// CheckpointInterval has passed since the last write (at once
			// if it has), unless more comes first — so a relay following a
			// steady trickle writes it at most once per interval.
			wait := r.cfg.CheckpointInterval - time.Since(lastCommit)
			if wait <= 0 {
				if err := flush(); err != nil {
					return progressed, err
				}
				select {
				case it, ok = <-queue:
				case <-ctx.Done():
					return progressed, ctx.Err()
				}
				break
			}
			timer := time.NewTimer(wait)
			select {
			case it, ok = <-queue:
				timer.Stop()
			case <-timer.C:
				if err := flush(); err != nil {
					return progressed, err
				}
				select {
				case it, ok = <-queue:
				case <-ctx.Done():
					return progressed, ctx.Err()
				}
			case <-ctx.Done():
				timer.Stop()
				return progressed, ctx.Err()
			}
		}
		if !ok {
			if err := flush(); err != nil {
				return progressed, err
			}
			return progressed, <-readErr
		}
		r.addInFlight(-1)
		switch {
		case it.noSend:
		case it.park != nil:
			parked = append(parked, r.parked(it, it.park))
		default:
			var err error
			select {
			case <-it.conf.Done():
				err = it.conf.Err()
			case <-ctx.Done():
				err = ctx.Err()
			}
			if it.done != nil {
				it.done(err)
			}
			switch {
			case err == nil:
				published++
			case broker.IsPermanent(err):
				r.log.Error("broker refused a message; parking it", "id", it.msg.ID, "type", it.msg.Type, "error", err)
				parked = append(parked, r.parked(it, err))
			default:
				if ferr := flush(); ferr != nil {
					return progressed, ferr
				}
				return progressed, err
			}
		}
		to, at = it.e.Position, it.e.RecordedAt
		if time.Since(lastCommit) >= r.cfg.CheckpointInterval || len(parked) > 0 {
			if err := flush(); err != nil {
				return progressed, err
			}
		}
	}
}

func (r *Relay) parked(it item, err error) Parked {
	return Parked{Relay: r.cfg.Name, Kind: KindMessage, Message: it.msg, Position: it.e.Position, Error: err.Error(), State: StateParked, Attempts: 1, ParkedAt: time.Now()}
}

// read subscribes from the checkpoint and queues each event: mapped and
// published, or skipped, or to park. It returns the subscription's or the
// publisher's error.
func (r *Relay) read(ctx context.Context, from eventstore.Position, queue chan<- item) error {
	opts := eventstore.SubscribeOptions{From: from, Filter: r.cfg.Filter}
	for events, err := range batch.Subscribe(ctx, r.store, opts, r.cfg.BatchSize) {
		if err != nil {
			return err
		}
		for _, e := range events {
			it := item{e: e}
			if (!r.cfg.Filter.IsZero() && !r.cfg.Filter.Match(e.StreamID, e.Type)) || (r.cfg.Select != nil && !r.cfg.Select(e)) {
				it.noSend = true
			} else if m, err := r.cfg.Map(e); err != nil {
				it.park = fmt.Errorf("relay %s: map event %s (%s): %w", r.cfg.Name, e.ID, e.Type, err)
				it.msg = broker.FromEvent(r.cfg.Source, e)
			} else {
				it.msg = m
				observed := r.tel.publish(ctx, e, &it.msg)
				if r.cfg.Hooks.Publish != nil {
					it.done = r.cfg.Hooks.Publish(ctx, e, &it.msg)
				}
				it.done = both(observed, it.done)
				c, err := r.pub.Publish(ctx, it.msg)
				if err != nil {
					if it.done != nil {
						it.done(err)
					}
					if broker.IsPermanent(err) {
						c = broker.Resolved(err)
					} else {
						return err
					}
				}
				it.conf = c
			}
			r.addInFlight(1)
			select {
			case queue <- it:
			case <-ctx.Done():
				r.addInFlight(-1)
				if it.done != nil {
					it.done(ctx.Err())
				}
				return ctx.Err()
			}
		}
	}
	return ctx.Err()
}

func (r *Relay) addInFlight(n int) {
	r.mu.Lock()
	r.inFlight += n
	r.mu.Unlock()
}

// retryLoop publishes again the parked messages an operator asked to
// retry.
func (r *Relay) retryLoop(ctx context.Context, claim Claim) {
	for backoff.Sleep(ctx, r.cfg.RetryInterval) {
		todo, err := claim.Retries(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("reading parked retries failed", "error", err)
			}
			continue
		}
		for _, p := range todo {
			if p.Kind == KindUnreadable {
				if !r.retryUnreadable(ctx, claim, p) {
					return
				}
				continue
			}
			c, err := r.pub.Publish(ctx, p.Message)
			if err == nil {
				err = broker.Wait(ctx, c)
			}
			if ctx.Err() != nil {
				return
			}
			if err != nil && !broker.IsPermanent(err) {
				r.log.Warn("retrying a parked message failed; trying again later", "id", p.Message.ID, "error", err)
				continue
			}
			if rerr := claim.Resolve(ctx, p.Message.ID, err); rerr != nil {
				r.log.Warn("settling a retried message failed", "id", p.Message.ID, "error", rerr)
			}
		}
	}
}
