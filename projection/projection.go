package projection

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Handler applies one event to a read model inside the batch's unit of work
// tx: a [*MemoryTx] for in-memory read models, the PostgreSQL package's
// transaction for PostgreSQL ones. Whatever it writes through tx commits
// together with the projection's checkpoint, or not at all.
//
// A handler must be deterministic and must not keep tx after it returns. It
// may be called again for the same event after a failure or a crash (its
// previous writes were then rolled back), never twice in one committed
// state.
type Handler[Tx any] interface {
	Handle(ctx context.Context, tx Tx, e eventstore.RecordedEvent) error
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc[Tx any] func(ctx context.Context, tx Tx, e eventstore.RecordedEvent) error

// Handle calls f.
func (f HandlerFunc[Tx]) Handle(ctx context.Context, tx Tx, e eventstore.RecordedEvent) error {
	return f(ctx, tx, e)
}

// Projection is the definition of one read model: a name, the event types it
// handles (its handlers' types, so the runner subscribes with a filter and
// never reads other events), optional stream prefixes, and how to reset the
// read model for a rebuild.
//
// Tx is the unit of work handlers write through; the [CheckpointStore] given
// to the [Runner] decides it. Build a projection at start-up, before the
// runner starts; it is not safe to change once running.
type Projection[Tx any] struct {
	name     string
	registry *eventstore.Registry
	handlers map[string]Handler[Tx]
	types    []string
	prefixes []string
	reset    func(ctx context.Context, tx Tx) error
	errs     []error
}

// New returns an empty projection named name. The registry decodes events
// for handlers registered with [On]; it may be nil if only [Projection.Handle]
// is used.
//
// A name is 1 to 200 bytes of printable text; it identifies the projection's
// checkpoint, so renaming a projection starts it over.
func New[Tx any](name string, registry *eventstore.Registry) *Projection[Tx] {
	p := &Projection[Tx]{name: name, registry: registry, handlers: make(map[string]Handler[Tx])}
	if err := ValidateName(name); err != nil {
		p.errs = append(p.errs, err)
	}
	return p
}

// ValidateName reports whether name can name a projection: 1 to 200 bytes of
// UTF-8 without control characters.
func ValidateName(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("%w: %q must be 1 to 200 bytes", ErrInvalidName, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("%w: %q holds a control character or invalid UTF-8", ErrInvalidName, name)
		}
	}
	return nil
}

// Name returns the projection's name.
func (p *Projection[Tx]) Name() string { return p.name }

// Handle registers h for events of type eventType (the stored type name).
// Registering a type twice is an error reported by [Projection.Validate] and
// by [NewRunner].
func (p *Projection[Tx]) Handle(eventType string, h Handler[Tx]) {
	switch {
	case eventType == "":
		p.errs = append(p.errs, fmt.Errorf("projection %q: handler for an empty event type", p.name))
		return
	case h == nil:
		p.errs = append(p.errs, fmt.Errorf("projection %q: nil handler for %q", p.name, eventType))
		return
	}
	if _, dup := p.handlers[eventType]; dup {
		p.errs = append(p.errs, fmt.Errorf("projection %q: two handlers for event type %q", p.name, eventType))
		return
	}
	p.handlers[eventType] = h
	p.types = append(p.types, eventType)
}

// On registers fn for the event type E: the projection's registry names the
// type and decodes each event (upcasting older payloads) before fn sees it.
// An event that does not decode is a handler failure like any other: retried,
// then the projection stops at it.
//
//	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e OrderPlaced, rec eventstore.RecordedEvent) error {
//		orders.Put(tx, e.OrderID, Summary{Status: "placed"})
//		return nil
//	})
func On[E any, Tx any](p *Projection[Tx], fn func(ctx context.Context, tx Tx, e E, rec eventstore.RecordedEvent) error) {
	if p.registry == nil {
		p.errs = append(p.errs, fmt.Errorf("projection %q: On[%v] needs a registry", p.name, reflect.TypeFor[E]()))
		return
	}
	var zero E
	name, err := p.registry.TypeName(zero)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("projection %q: On[%v]: %w", p.name, reflect.TypeFor[E](), err))
		return
	}
	reg := p.registry
	p.Handle(name, HandlerFunc[Tx](func(ctx context.Context, tx Tx, rec eventstore.RecordedEvent) error {
		e, err := eventstore.Decode[E](reg, rec)
		if err != nil {
			return err
		}
		return fn(ctx, tx, e, rec)
	}))
}

// StreamPrefixes narrows the projection to streams whose IDs start with one
// of prefixes; by default it sees every stream.
func (p *Projection[Tx]) StreamPrefixes(prefixes ...string) {
	p.prefixes = append(p.prefixes, prefixes...)
}

// OnReset sets the function that empties the read model before a rebuild.
// It runs in the same unit of work that resets the checkpoint. A projection
// without one cannot be rebuilt.
func (p *Projection[Tx]) OnReset(fn func(ctx context.Context, tx Tx) error) {
	p.reset = fn
}

// Filter returns the subscription filter the runner uses: the handled event
// types (sorted) and the stream prefixes.
func (p *Projection[Tx]) Filter() eventstore.Filter {
	types := slices.Clone(p.types)
	slices.Sort(types)
	return eventstore.Filter{EventTypes: types, StreamPrefixes: slices.Clone(p.prefixes)}
}

// Validate reports every mistake made while defining the projection.
func (p *Projection[Tx]) Validate() error {
	errs := slices.Clone(p.errs)
	if len(p.handlers) == 0 {
		errs = append(errs, fmt.Errorf("projection %q has no handlers", p.name))
	}
	return errors.Join(errs...)
}

// apply runs the handler of e's type; events of other types (which a store's
// filter should never deliver) are ignored.
func (p *Projection[Tx]) apply(ctx context.Context, tx Tx, e eventstore.RecordedEvent) error {
	h, ok := p.handlers[e.Type]
	if !ok {
		return nil
	}
	return h.Handle(ctx, tx, e)
}
