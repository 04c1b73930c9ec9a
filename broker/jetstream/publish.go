package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chronicle-go/chronicle/broker"
)

// Defaults of [PublisherConfig]: a zero field takes its default.
const (
	// DefaultSubjectPrefix is the first token of default subjects.
	DefaultSubjectPrefix = "chronicle"
	DefaultWindow        = 512
	DefaultAckTimeout    = 10 * time.Second
)

// PublisherConfig configures a [Publisher]. The zero value works.
type PublisherConfig struct {
	// Subject maps a message to its subject. By default it is
	// SubjectPrefix + "." + the message type, with characters a subject
	// token cannot hold ('.', '*', '>', white space) replaced by '_'.
	Subject func(broker.Message) string
	// SubjectPrefix is the default mapping's first token (default
	// [DefaultSubjectPrefix]).
	SubjectPrefix string
	// Window is the most messages in flight, published and not yet
	// acknowledged (default [DefaultWindow]).
	Window int
	// AckTimeout bounds the wait for one PubAck (default [DefaultAckTimeout]).
	AckTimeout time.Duration
}

// Validate reports every invalid field at once.
func (c PublisherConfig) Validate() error {
	var errs []error
	if c.Window < 0 {
		errs = append(errs, fmt.Errorf("broker/jetstream: Window is negative (%d)", c.Window))
	}
	if c.AckTimeout < 0 {
		errs = append(errs, fmt.Errorf("broker/jetstream: AckTimeout is negative (%v)", c.AckTimeout))
	}
	if c.SubjectPrefix != "" && Token(c.SubjectPrefix) != c.SubjectPrefix {
		errs = append(errs, fmt.Errorf("broker/jetstream: SubjectPrefix %q is not a subject token", c.SubjectPrefix))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c PublisherConfig) withDefaults() PublisherConfig {
	c.SubjectPrefix = cmp.Or(c.SubjectPrefix, DefaultSubjectPrefix)
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.AckTimeout = cmp.Or(c.AckTimeout, DefaultAckTimeout)
	if c.Subject == nil {
		prefix := c.SubjectPrefix
		c.Subject = func(m broker.Message) string { return prefix + "." + Token(m.Type) }
	}
	return c
}

// Token returns s as one subject token: '.', '*', '>' and white space
// become '_'.
func Token(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f:
			return '_'
		}
		return r
	}, s)
}

// Publisher publishes messages to JetStream asynchronously. It implements
// [broker.Publisher]. Close it to stop.
type Publisher struct {
	cfg    PublisherConfig
	js     jetstream.JetStream
	window chan struct{}

	mu      sync.Mutex
	pending map[*nats.Msg]*broker.Confirm
	closed  bool
}

var _ broker.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher on nc. It uses a JetStream context of
// its own, so its acknowledgement handlers see only its messages.
func NewPublisher(nc *nats.Conn, cfg PublisherConfig) (*Publisher, error) {
	if nc == nil {
		return nil, errors.New("broker/jetstream: nil connection")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Publisher{cfg: cfg, window: make(chan struct{}, cfg.Window), pending: map[*nats.Msg]*broker.Confirm{}}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.Window+1),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			p.resolve(m, nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			p.resolve(m, err)
		}))
	if err != nil {
		return nil, fmt.Errorf("broker/jetstream: %w", err)
	}
	p.js = js
	return p, nil
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
	msg := Encode(p.cfg.Subject(m), m)
	c := broker.NewConfirm()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.window
		return nil, broker.ErrClosed
	}
	p.pending[msg] = c
	p.mu.Unlock()
	if _, err := p.js.PublishMsgAsync(msg); err != nil {
		if !p.resolve(msg, err) {
			// The error handler raced us to it (it cannot, as nats.go
			// does not call it for a refused send; defensive).
			return c, nil
		}
		if broker.IsPermanent(c.Err()) {
			return c, nil
		}
		return nil, c.Err()
	}
	return c, nil
}

// resolve settles the confirmation of msg with err (classified) and frees
// its place in the window; it reports false when msg was not pending.
func (p *Publisher) resolve(msg *nats.Msg, err error) bool {
	p.mu.Lock()
	c, ok := p.pending[msg]
	delete(p.pending, msg)
	p.mu.Unlock()
	if !ok {
		return false
	}
	<-p.window
	c.Resolve(classify(msg.Header.Get(HeaderMsgID), err))
	return true
}

// classify marks the server's refusals of the message itself as permanent.
func classify(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
		return &broker.RefusedError{ID: id, Reason: "larger than the stream allows", Err: err}
	case errors.Is(err, nats.ErrMaxPayload):
		return &broker.RefusedError{ID: id, Reason: "larger than the server's max_payload", Err: err}
	}
	return fmt.Errorf("broker/jetstream: publish %s: %w", id, err)
}

// Pending returns how many messages await their PubAck.
func (p *Publisher) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// Close refuses further publishing and fails the confirmations still
// pending with [broker.ErrClosed]. It does not close the connection.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	pending := p.pending
	p.pending = map[*nats.Msg]*broker.Confirm{}
	p.mu.Unlock()
	for _, c := range pending {
		<-p.window
		c.Resolve(broker.ErrClosed)
	}
	return nil
}
