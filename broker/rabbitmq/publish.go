package rabbitmq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chronicle-go/chronicle/broker"
)

// Defaults of [PublisherConfig]: a zero field takes its default.
const (
	// DefaultExchange is the exchange name used when none is configured.
	DefaultExchange       = "chronicle"
	DefaultWindow         = 512
	DefaultConfirmTimeout = 30 * time.Second
)

// PublisherConfig configures a [Publisher]. URL is required; the rest has
// working defaults.
type PublisherConfig struct {
	// URL is the broker's AMQP URL ("amqp://guest:guest@127.0.0.1:5672/").
	URL string
	// Exchange receives the messages (default [DefaultExchange]); it must
	// exist ([Provision]).
	Exchange string
	// RoutingKey maps a message to its routing key (default its type).
	RoutingKey func(broker.Message) string
	// Window is the most messages unconfirmed at once (default
	// [DefaultWindow]).
	Window int
	// ConfirmTimeout fails a confirmation that has not come after this
	// long (default [DefaultConfirmTimeout]).
	ConfirmTimeout time.Duration
}

// Validate reports every invalid field at once.
func (c PublisherConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("broker/rabbitmq: empty URL"))
	} else if _, err := amqp.ParseURI(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("broker/rabbitmq: URL: %w", err))
	}
	if c.Window < 0 || c.ConfirmTimeout < 0 {
		errs = append(errs, errors.New("broker/rabbitmq: negative Window or ConfirmTimeout"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c PublisherConfig) withDefaults() PublisherConfig {
	c.Exchange = cmp.Or(c.Exchange, DefaultExchange)
	if c.RoutingKey == nil {
		c.RoutingKey = func(m broker.Message) string { return m.Type }
	}
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.ConfirmTimeout = cmp.Or(c.ConfirmTimeout, DefaultConfirmTimeout)
	return c
}

// Publisher publishes with publisher confirms. It implements
// [broker.Publisher]; Close it to stop.
type Publisher struct {
	cfg    PublisherConfig
	window chan struct{}

	pubMu  sync.Mutex // serialises publishing: sequence numbers, the session
	sess   *session
	closed bool
}

var _ broker.Publisher = (*Publisher)(nil)

// session is one connection and its confirming channel.
type session struct {
	p    *Publisher
	conn *amqp.Connection
	ch   *amqp.Channel

	mu       sync.Mutex
	pending  map[uint64]*pendingMsg
	returned map[string]bool // message IDs returned and not yet confirmed
	dead     error
	done     chan struct{}
}

type pendingMsg struct {
	id   string
	c    *broker.Confirm
	sent time.Time
}

// NewPublisher returns a publisher; it connects on the first Publish.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Publisher{cfg: cfg, window: make(chan struct{}, cfg.Window)}, nil
}

// Publish implements [broker.Publisher].
func (p *Publisher) Publish(ctx context.Context, m broker.Message) (broker.Confirmation, error) {
	if err := m.Validate(); err != nil {
		return broker.Resolved(err), nil
	}
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if p.closed {
		<-p.window
		return nil, broker.ErrClosed
	}
	s, err := p.session(ctx)
	if err != nil {
		<-p.window
		return nil, err
	}
	c := broker.NewConfirm()
	seq := s.ch.GetNextPublishSeqNo()
	s.mu.Lock()
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		<-p.window
		return nil, err
	}
	s.pending[seq] = &pendingMsg{id: m.ID, c: c, sent: time.Now()}
	s.mu.Unlock()
	if err := s.ch.PublishWithContext(ctx, p.cfg.Exchange, p.cfg.RoutingKey(m), true, false, Encode(m)); err != nil {
		s.mu.Lock()
		_, mine := s.pending[seq]
		delete(s.pending, seq)
		s.mu.Unlock()
		if mine {
			<-p.window
		}
		s.kill(err)
		return nil, fmt.Errorf("broker/rabbitmq: publish %s: %w", m.ID, err)
	}
	return c, nil
}

// session returns the live session, dialling a new one if there is none.
// It runs with pubMu held.
func (p *Publisher) session(ctx context.Context) (*session, error) {
	if s := p.sess; s != nil {
		s.mu.Lock()
		dead := s.dead
		s.mu.Unlock()
		if dead == nil {
			return s, nil
		}
		p.sess = nil
	}
	conn, err := dial(ctx, p.cfg.URL)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("broker/rabbitmq: confirm channel: %w", err)
	}
	s := &session{p: p, conn: conn, ch: ch, pending: map[uint64]*pendingMsg{}, returned: map[string]bool{}, done: make(chan struct{})}
	// The client puts a message's return into returns before it handles
	// the message's ack, so the one goroutine reading both drains returns
	// before it settles each confirm (see the package doc).
	returns := ch.NotifyReturn(make(chan amqp.Return, p.cfg.Window))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 2*p.cfg.Window))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	go s.watch(returns, confirms, closed, connClosed)
	p.sess = s
	return s, nil
}

func dial(ctx context.Context, url string) (*amqp.Connection, error) {
	cfg := amqp.Config{Heartbeat: 5 * time.Second, Locale: "en_US"}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		cfg.Dial = amqp.DefaultDial(max(d, time.Millisecond))
	} else {
		cfg.Dial = amqp.DefaultDial(10 * time.Second)
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, fmt.Errorf("broker/rabbitmq: dial: %w", err)
	}
	return conn, nil
}

func (s *session) watch(returns <-chan amqp.Return, confirms <-chan amqp.Confirmation, closed, connClosed <-chan *amqp.Error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			s.mu.Lock()
			s.returned[r.MessageId] = true
			s.mu.Unlock()
		case c, ok := <-confirms:
			if !ok {
				confirms = nil
				continue
			}
			s.drainReturns(returns)
			s.confirm(c)
		case e := <-closed:
			s.kill(closeErr(e))
			s.drain(returns, confirms)
			return
		case e := <-connClosed:
			s.kill(closeErr(e))
			s.drain(returns, confirms)
			return
		case now := <-tick.C:
			s.expire(now)
		}
	}
}

// drainReturns records the returns already handed over: those of every
// message whose ack came after them, the one about to be settled included.
func (s *session) drainReturns(returns <-chan amqp.Return) {
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return
			}
			s.mu.Lock()
			s.returned[r.MessageId] = true
			s.mu.Unlock()
		default:
			return
		}
	}
}

// drain keeps reading the notification channels until the client closes
// them, so it never blocks on a listener that went away.
func (s *session) drain(returns <-chan amqp.Return, confirms <-chan amqp.Confirmation) {
	go func() {
		for range returns {
		}
	}()
	go func() {
		for range confirms {
		}
	}()
}

func closeErr(e *amqp.Error) error {
	if e == nil {
		return errors.New("broker/rabbitmq: connection closed")
	}
	return fmt.Errorf("broker/rabbitmq: connection lost: %w", e)
}

func (s *session) confirm(c amqp.Confirmation) {
	s.mu.Lock()
	pm, ok := s.pending[c.DeliveryTag]
	delete(s.pending, c.DeliveryTag)
	returned := ok && s.returned[pm.id]
	if ok {
		delete(s.returned, pm.id)
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	<-s.p.window
	switch {
	case returned:
		pm.c.Resolve(&broker.RefusedError{ID: pm.id, Reason: "unroutable: no queue is bound to its routing key"})
	case !c.Ack:
		pm.c.Resolve(fmt.Errorf("broker/rabbitmq: message %s nacked by the broker", pm.id))
	default:
		pm.c.Resolve(nil)
	}
}

// expire fails the confirmations older than the timeout.
func (s *session) expire(now time.Time) {
	var late []*pendingMsg
	s.mu.Lock()
	for seq, pm := range s.pending {
		if now.Sub(pm.sent) > s.p.cfg.ConfirmTimeout {
			late = append(late, pm)
			delete(s.pending, seq)
		}
	}
	s.mu.Unlock()
	for _, pm := range late {
		<-s.p.window
		pm.c.Resolve(fmt.Errorf("broker/rabbitmq: no confirm for %s within %v", pm.id, s.p.cfg.ConfirmTimeout))
	}
}

// kill marks the session dead and fails every pending confirmation with
// err (transient: the relay publishes them again).
func (s *session) kill(err error) {
	s.mu.Lock()
	if s.dead != nil {
		s.mu.Unlock()
		return
	}
	s.dead = err
	pending := s.pending
	s.pending = map[uint64]*pendingMsg{}
	s.mu.Unlock()
	for _, pm := range pending {
		<-s.p.window
		pm.c.Resolve(err)
	}
	go s.conn.Close()
}

// Close fails pending confirmations with [broker.ErrClosed] and closes the
// connection.
func (p *Publisher) Close() error {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	p.closed = true
	if p.sess != nil {
		p.sess.kill(broker.ErrClosed)
		p.sess = nil
	}
	return nil
}
