package eventstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// Codec turns Go values into event payloads and back. [JSONCodec] is the
// default.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes payloads with encoding/json.
type JSONCodec struct{}

func (JSONCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Upcaster turns the payload of one schema version of an event type into the
// payload of the next version. It sees the event's metadata but must not
// change it.
type Upcaster func(data []byte, md Metadata) ([]byte, error)

// Registry maps stable event type names to Go types and back. It is a value,
// never a global: build one at start-up, register every event type, then
// share it; it is safe for concurrent use.
//
// # Renames and schema changes
//
// A Go type may be renamed freely: stored events carry the registered name,
// not the Go name. An event type may be renamed with [Aliases]: the old name
// still decodes. A payload's shape may change: register the type with its
// current [SchemaVersion] and add an [Registry.Upcast] function per older
// version; on decode, upcasters run in a chain (v1→v2→v3) before the payload
// is unmarshalled.
type Registry struct {
	codec Codec

	mu        sync.RWMutex
	byName    map[string]*registeredType // canonical names and aliases
	byType    map[reflect.Type]*registeredType
	upcasters map[upcasterKey]Upcaster
}

type registeredType struct {
	name    string
	goType  reflect.Type
	version int
	aliases []string
}

type upcasterKey struct {
	name string
	from int
}

// NewRegistry returns an empty registry using codec, or JSON when codec is
// nil.
func NewRegistry(codec Codec) *Registry {
	if codec == nil {
		codec = JSONCodec{}
	}
	return &Registry{
		codec:     codec,
		byName:    make(map[string]*registeredType),
		byType:    make(map[reflect.Type]*registeredType),
		upcasters: make(map[upcasterKey]Upcaster),
	}
}

// TypeOption configures a registration.
type TypeOption func(*registeredType)

// Aliases lets events stored under older names decode as this type.
func Aliases(names ...string) TypeOption {
	return func(t *registeredType) { t.aliases = append(t.aliases, names...) }
}

// SchemaVersion sets the current version of the payload's shape (default
// 1). Events are written with it in their metadata; older ones are upcast on
// decode.
func SchemaVersion(v int) TypeOption {
	return func(t *registeredType) { t.version = v }
}

// Register adds Go type T under the stable name. It fails if the name or an
// alias is empty or taken, or T is already registered: mistakes surface at
// start-up, not when an event is read.
func Register[T any](r *Registry, name string, opts ...TypeOption) error {
	return r.register(reflect.TypeFor[T](), name, opts)
}

// MustRegister is [Register] that panics on error, for start-up code.
func MustRegister[T any](r *Registry, name string, opts ...TypeOption) {
	if err := Register[T](r, name, opts...); err != nil {
		panic(err)
	}
}

func (r *Registry) register(goType reflect.Type, name string, opts []TypeOption) error {
	t := &registeredType{name: name, goType: goType, version: 1}
	for _, o := range opts {
		o(t)
	}
	if goType.Kind() == reflect.Interface || goType.Kind() == reflect.Pointer {
		return fmt.Errorf("eventstore: register %q: %v: register the value type, not a pointer or interface", name, goType)
	}
	if t.version < 1 {
		return fmt.Errorf("eventstore: register %q: schema version %d, want 1 or more", name, t.version)
	}
	limits := Limits{}.WithDefaults()
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.byType[goType]; ok {
		return fmt.Errorf("eventstore: register %q: Go type %v is already registered as %q", name, goType, prev.name)
	}
	names := append([]string{name}, t.aliases...)
	for i, n := range names {
		if msg := limits.checkType(n); msg != "" {
			return fmt.Errorf("eventstore: register %v: type name %q: %s", goType, n, msg)
		}
		if prev, ok := r.byName[n]; ok {
			return fmt.Errorf("eventstore: register %v: type name %q is already taken by %v", goType, n, prev.goType)
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("eventstore: register %v: type name %q given twice", goType, n)
		}
	}
	for _, n := range names {
		r.byName[n] = t
	}
	r.byType[goType] = t
	return nil
}

// Upcast adds the function that turns payloads of schema version from of the
// event type name (or one of its aliases) into version from+1.
func (r *Registry) Upcast(name string, from int, fn Upcaster) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.byName[name]
	switch {
	case !ok:
		return fmt.Errorf("eventstore: upcaster for %q: %w", name, ErrUnknownEventType)
	case fn == nil:
		return fmt.Errorf("eventstore: upcaster for %q v%d is nil", name, from)
	case from < 1 || from >= t.version:
		return fmt.Errorf("eventstore: upcaster for %q from v%d: the current version is %d, so upcasters go from 1 to %d", name, from, t.version, t.version-1)
	}
	key := upcasterKey{t.name, from}
	if _, dup := r.upcasters[key]; dup {
		return fmt.Errorf("eventstore: upcaster for %q from v%d is already registered", name, from)
	}
	r.upcasters[key] = fn
	return nil
}

// TypeName returns the registered name of v's type (v may be a pointer to a
// registered type).
func (r *Registry) TypeName(v any) (string, error) {
	t, err := r.lookupValue(v)
	if err != nil {
		return "", err
	}
	return t.name, nil
}

// Types returns the canonical names of every registered type, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.byType))
	for _, t := range r.byType {
		names = append(names, t.name)
	}
	slices.Sort(names)
	return names
}

// Known reports whether name is a registered type name or alias.
func (r *Registry) Known(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.byName[name]
	return ok
}

func (r *Registry) lookupValue(v any) (*registeredType, error) {
	rt := reflect.TypeOf(v)
	if rt == nil {
		return nil, fmt.Errorf("eventstore: encode nil: %w", ErrUnknownEventType)
	}
	if rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	r.mu.RLock()
	t, ok := r.byType[rt]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("eventstore: Go type %v is not registered: %w", rt, ErrUnknownEventType)
	}
	return t, nil
}

// Encode turns v (a registered type, or a pointer to one) into an event with
// a new UUID v7, its registered name, its encoded payload and md with the
// type's schema version set.
func (r *Registry) Encode(v any, md Metadata) (Event, error) {
	t, err := r.lookupValue(v)
	if err != nil {
		return Event{}, err
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return Event{}, fmt.Errorf("eventstore: encode %q: nil pointer", t.name)
	}
	data, err := r.codec.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("eventstore: encode %q: %w", t.name, err)
	}
	md.SchemaVersion = 0
	if t.version > 1 {
		md.SchemaVersion = t.version
	}
	return Event{ID: NewEventID(), Type: t.name, Data: data, Metadata: md}, nil
}

// Decode turns a recorded event into a value of its registered Go type (not
// a pointer), upcasting older payloads first. An unknown type, a payload that
// is empty, null or does not decode, a JSON object none of whose fields
// belongs to the type, or an upcaster that fails is a [*DecodeError] naming
// the stream, version and type; Decode never returns a silently zeroed
// value.
func (r *Registry) Decode(e RecordedEvent) (any, error) {
	fail := func(sentinel error, cause error) error {
		err := sentinel
		if cause != nil {
			err = fmt.Errorf("%w: %w", sentinel, cause)
		}
		return &DecodeError{Stream: e.StreamID, Version: e.Version, Type: e.Type, Err: err}
	}
	r.mu.RLock()
	t, ok := r.byName[e.Type]
	r.mu.RUnlock()
	if !ok {
		return nil, fail(ErrUnknownEventType, nil)
	}
	data := e.Data
	version := max(e.Metadata.SchemaVersion, 1)
	if version > t.version {
		return nil, fail(ErrDecode, fmt.Errorf("schema version %d is newer than the registered version %d", version, t.version))
	}
	for ; version < t.version; version++ {
		r.mu.RLock()
		up := r.upcasters[upcasterKey{t.name, version}]
		r.mu.RUnlock()
		if up == nil {
			return nil, fail(ErrDecode, fmt.Errorf("no upcaster from schema version %d to %d", version, version+1))
		}
		var err error
		if data, err = up(data, e.Metadata); err != nil {
			return nil, fail(ErrDecode, fmt.Errorf("upcaster from schema version %d: %w", version, err))
		}
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, fail(ErrDecode, errors.New("empty payload"))
	}
	ptr := reflect.New(t.goType)
	if err := r.codec.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fail(ErrDecode, err)
	}
	if _, isJSON := r.codec.(JSONCodec); isJSON && ptr.Elem().IsZero() {
		if keys := unknownKeys(data, t.goType); len(keys) > 0 {
			return nil, fail(ErrDecode, fmt.Errorf("none of the payload's fields %q is a field of %v "+
				"(a field renamed without an upcaster?)", keys, t.goType))
		}
	}
	return ptr.Elem().Interface(), nil
}

// unknownKeys returns the keys of the JSON object data when not one of them
// is a field of the struct type t, and nil otherwise. A payload that decodes
// to a zero struct is then not data of that type at all, rather than data
// whose fields happen to be zero; additive changes (a new field that older
// readers do not know, beside known ones) still decode.
func unknownKeys(data []byte, t reflect.Type) []string {
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return nil // a marker type has no fields to miss
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil || len(fields) == 0 {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		one, err := json.Marshal(map[string]json.RawMessage{k: v})
		if err != nil {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(one))
		dec.DisallowUnknownFields()
		if dec.Decode(reflect.New(t).Interface()) == nil {
			return nil // a known field, holding its zero value
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Decode decodes e with r and asserts the result is a T. An event of another
// registered type is a [*DecodeError] wrapping [ErrDecode].
func Decode[T any](r *Registry, e RecordedEvent) (T, error) {
	var zero T
	v, err := r.Decode(e)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, &DecodeError{Stream: e.StreamID, Version: e.Version, Type: e.Type,
			Err: fmt.Errorf("%w: it decodes to %T, not %v", ErrDecode, v, reflect.TypeFor[T]())}
	}
	return t, nil
}
