package saga

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Options configure a [Definition]. Events is required; a saga that sends
// commands needs Commands; the state is encoded with JSON unless
// StateCodec says otherwise.
type Options struct {
	// Commands gives every command a handler sends (or a step's compensation
	// returns) its stable type name and encoding, and decodes it again in
	// the dispatcher. Register each command type in it.
	Commands *eventstore.Registry
	// Events decodes the events handlers receive (with upcasting), and
	// checks the handlers: [Definition.Validate] refuses a handler whose
	// event type name is not the name its Go type is registered under (a
	// typo, or a handler taking the wrong type), which would otherwise
	// never fire, or fail on every event.
	Events *eventstore.Registry
	// StateCodec encodes the saga state; nil means JSON.
	StateCodec eventstore.Codec
}

// Definition describes one saga type: its name, the events that start an
// instance, how each event finds its instance, the handlers, the steps with
// their compensations and the deadline handlers. S is the saga's state; it
// is stored encoded (JSON by default), so its fields must round-trip.
//
// Build a definition at start-up with [New], [Start], [On],
// [Definition.Step] and [Definition.OnDeadline]; mistakes are collected and
// reported by [Definition.Validate] (and by [NewEngine]). A definition must
// not change once an engine runs it.
type Definition[S any] struct {
	name      string
	opts      Options
	handlers  map[string]*eventHandler[S]
	order     []string
	steps     map[string]func(S) any
	deadlines map[string]func(context.Context, *Scope[S]) error
	errs      []error
}

type eventHandler[S any] struct {
	start     bool
	goType    reflect.Type // E, the handler's event type
	decode    func(r *eventstore.Registry, e eventstore.RecordedEvent) (any, error)
	correlate func(v any) string
	handle    func(ctx context.Context, s *Scope[S], v any) error
}

// New starts the definition of the saga type name: a stable name, stored
// with every instance (renaming it orphans running instances).
func New[S any](name string, opts Options) *Definition[S] {
	d := &Definition[S]{
		name:      name,
		opts:      opts,
		handlers:  make(map[string]*eventHandler[S]),
		steps:     make(map[string]func(S) any),
		deadlines: make(map[string]func(context.Context, *Scope[S]) error),
	}
	if name == "" || len(name) > 200 {
		d.errs = append(d.errs, fmt.Errorf("%w: name %q must be 1 to 200 bytes", ErrInvalidDefinition, name))
	}
	if opts.StateCodec == nil {
		d.opts.StateCodec = eventstore.JSONCodec{}
	}
	return d
}

// Name returns the saga type name.
func (d *Definition[S]) Name() string { return d.name }

// Options returns the options the definition was made with (JSON as the
// StateCodec when none was given).
func (d *Definition[S]) Options() Options { return d.opts }

// Start registers h for events of eventType that start an instance: if no
// instance with the correlated ID exists, one is created with the zero S and
// h runs on it. For an existing instance h runs like an [On] handler.
// eventType must be the name E is registered under in [Options.Events];
// [Definition.Validate] checks it.
// correlate returns the instance ID for an event; an empty ID means the
// event concerns no instance and is skipped.
func Start[S, E any](d *Definition[S], eventType string, correlate func(E) string, h func(ctx context.Context, s *Scope[S], e E) error) {
	register(d, eventType, true, correlate, h)
}

// On registers h for events of eventType that continue an instance: an
// event whose instance does not exist is skipped. See [Start] for correlate.
func On[S, E any](d *Definition[S], eventType string, correlate func(E) string, h func(ctx context.Context, s *Scope[S], e E) error) {
	register(d, eventType, false, correlate, h)
}

func register[S, E any](d *Definition[S], eventType string, start bool, correlate func(E) string, h func(context.Context, *Scope[S], E) error) {
	switch {
	case eventType == "":
		d.errs = append(d.errs, fmt.Errorf("%w: %s: handler with an empty event type", ErrInvalidDefinition, d.name))
		return
	case correlate == nil || h == nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: %s: nil correlate or handler", ErrInvalidDefinition, d.name, eventType))
		return
	case d.handlers[eventType] != nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: two handlers for %s", ErrInvalidDefinition, d.name, eventType))
		return
	}
	d.order = append(d.order, eventType)
	d.handlers[eventType] = &eventHandler[S]{
		start:  start,
		goType: reflect.TypeFor[E](),
		decode: func(r *eventstore.Registry, e eventstore.RecordedEvent) (any, error) {
			return eventstore.Decode[E](r, e)
		},
		correlate: func(v any) string { return correlate(v.(E)) },
		handle:    func(ctx context.Context, s *Scope[S], v any) error { return h(ctx, s, v.(E)) },
	}
}

// Step declares a step and its compensation: compensate returns the command
// that undoes the step, given the saga's state when it fails (nil: nothing
// to undo). A handler marks the step done with [Scope.StepDone]; when the
// saga fails, the compensations of its done steps are sent newest first.
func (d *Definition[S]) Step(name string, compensate func(S) any) *Definition[S] {
	switch {
	case name == "":
		d.errs = append(d.errs, fmt.Errorf("%w: %s: step with an empty name", ErrInvalidDefinition, d.name))
	case compensate == nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: step %s: nil compensation", ErrInvalidDefinition, d.name, name))
	case d.steps[name] != nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: step %s declared twice", ErrInvalidDefinition, d.name, name))
	default:
		d.steps[name] = compensate
	}
	return d
}

// OnDeadline registers h for the deadline name (see [Scope.Schedule]).
// Without a handler, an expired deadline fails the saga, which compensates
// its done steps.
func (d *Definition[S]) OnDeadline(name string, h func(ctx context.Context, s *Scope[S]) error) *Definition[S] {
	switch {
	case name == "" || h == nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: deadline handler needs a name and a function", ErrInvalidDefinition, d.name))
	case d.deadlines[name] != nil:
		d.errs = append(d.errs, fmt.Errorf("%w: %s: two handlers for deadline %s", ErrInvalidDefinition, d.name, name))
	default:
		d.deadlines[name] = h
	}
	return d
}

// EventTypes returns the event types the saga handles, in registration
// order.
func (d *Definition[S]) EventTypes() []string { return slices.Clone(d.order) }

// Validate reports every problem with the definition at once: those
// collected while it was built (a duplicate handler, a step declared
// twice, an empty name), no start event, no [Options.Events], and every
// handler whose event type name is not the name its Go type is registered
// under in Options.Events.
func (d *Definition[S]) Validate() error {
	errs := slices.Clone(d.errs)
	starts := 0
	for _, h := range d.handlers {
		if h.start {
			starts++
		}
	}
	if starts == 0 {
		errs = append(errs, fmt.Errorf("%w: %s: no event starts an instance (use saga.Start)", ErrInvalidDefinition, d.name))
	}
	if d.opts.Events == nil {
		errs = append(errs, fmt.Errorf("%w: %s: Options.Events is nil: register the events the saga handles", ErrInvalidDefinition, d.name))
	} else {
		for _, name := range d.order {
			if err := d.checkEventType(name, d.handlers[name].goType); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// checkEventType reports a handler registered for name whose event type
// goType is not registered under that name in Options.Events.
func (d *Definition[S]) checkEventType(name string, goType reflect.Type) error {
	reg := d.opts.Events
	registered, err := reg.TypeName(reflect.Zero(goType).Interface())
	switch {
	case err != nil && reg.Known(name):
		return fmt.Errorf("%w: %s: the handler for %q takes %v, which is not registered in Options.Events", ErrInvalidDefinition, d.name, name, goType)
	case err != nil:
		return fmt.Errorf("%w: %s: handler for %q: neither the name nor its type %v is registered in Options.Events", ErrInvalidDefinition, d.name, name, goType)
	case registered == name:
		return nil
	case reg.Known(name):
		return fmt.Errorf("%w: %s: the handler for %q takes %v, which is registered as %q", ErrInvalidDefinition, d.name, name, goType, registered)
	default:
		return fmt.Errorf("%w: %s: handler for %q: no such event type in Options.Events (%v is registered as %q)", ErrInvalidDefinition, d.name, name, goType, registered)
	}
}
