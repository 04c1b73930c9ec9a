package eventstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

type OrderPlaced struct {
	OrderID string `json:"order_id"`
	Amount  int    `json:"amount"`
}

type OrderPaid struct {
	OrderID string `json:"order_id"`
}

type Renamed struct {
	Name string `json:"name"`
}

// Shipped is at schema version 3: v1 had "addr", v2 renamed it "address",
// v3 split the carrier out of it.
type Shipped struct {
	Address string `json:"address"`
	Carrier string `json:"carrier"`
}

func recorded(e eventstore.Event) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{Event: e, StreamID: "order-1", Version: 7}
}

func TestRegistryRoundTrip(t *testing.T) {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](r, "OrderPlaced")
	eventstore.MustRegister[OrderPaid](r, "OrderPaid")

	md := eventstore.Metadata{CorrelationID: "order-1", SchemaVersion: 5}.With("k", "v")
	for _, v := range []any{OrderPlaced{"order-1", 42}, &OrderPlaced{"order-1", 42}} {
		e, err := r.Encode(v, md)
		if err != nil {
			t.Fatalf("Encode(%T): %v", v, err)
		}
		if e.Type != "OrderPlaced" {
			t.Errorf("Type = %q", e.Type)
		}
		if e.ID == uuid.Nil || e.ID.Version() != 7 {
			t.Errorf("ID = %v, want a UUID v7", e.ID)
		}
		if e.Metadata.SchemaVersion != 0 || e.Metadata.CorrelationID != "order-1" || e.Metadata.Get("k") != "v" {
			t.Errorf("Metadata = %+v: want the caller's, with the schema version of a v1 type (0)", e.Metadata)
		}
		if md.SchemaVersion != 5 {
			t.Errorf("Encode changed the caller's metadata")
		}
		var payload map[string]any
		if err := json.Unmarshal(e.Data, &payload); err != nil || payload["order_id"] != "order-1" || payload["amount"] != 42.0 {
			t.Errorf("Data = %s (%v)", e.Data, err)
		}
		got, err := r.Decode(recorded(e))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if got != (OrderPlaced{"order-1", 42}) {
			t.Errorf("Decode = %#v", got)
		}
		typed, err := eventstore.Decode[OrderPlaced](r, recorded(e))
		if err != nil || typed != (OrderPlaced{"order-1", 42}) {
			t.Errorf("Decode[OrderPlaced] = %#v, %v", typed, err)
		}
	}
	name, err := r.TypeName(&OrderPaid{})
	if err != nil || name != "OrderPaid" {
		t.Errorf("TypeName(*OrderPaid) = %q, %v", name, err)
	}
	if got := r.Types(); !reflect.DeepEqual(got, []string{"OrderPaid", "OrderPlaced"}) {
		t.Errorf("Types() = %v", got)
	}
	if !r.Known("OrderPaid") || r.Known("OrderShipped") {
		t.Errorf("Known is wrong")
	}
}

func TestRegistryEncodeErrors(t *testing.T) {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](r, "OrderPlaced")
	for name, v := range map[string]any{
		"unregistered": OrderPaid{},
		"nil":          nil,
	} {
		if _, err := r.Encode(v, eventstore.Metadata{}); !errors.Is(err, eventstore.ErrUnknownEventType) {
			t.Errorf("Encode(%s) = %v, want ErrUnknownEventType", name, err)
		}
	}
	if _, err := r.Encode((*OrderPlaced)(nil), eventstore.Metadata{}); err == nil {
		t.Error("Encode of a nil pointer succeeded")
	}
	if _, err := r.TypeName(OrderPaid{}); !errors.Is(err, eventstore.ErrUnknownEventType) {
		t.Errorf("TypeName(unregistered) = %v", err)
	}
}

func TestRegisterFailsLoudly(t *testing.T) {
	type Other struct{}
	cases := []struct {
		name     string
		register func(r *eventstore.Registry) error
		want     string
	}{
		{"EmptyName", func(r *eventstore.Registry) error { return eventstore.Register[Other](r, "") }, "empty"},
		{"DuplicateName", func(r *eventstore.Registry) error { return eventstore.Register[Other](r, "OrderPlaced") }, "already taken"},
		{"DuplicateGoType", func(r *eventstore.Registry) error { return eventstore.Register[OrderPlaced](r, "SomethingElse") }, "already registered"},
		{"AliasTaken", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, "Other", eventstore.Aliases("order_placed"))
		}, "already taken"},
		{"EmptyAlias", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, "Other", eventstore.Aliases(""))
		}, "empty"},
		{"AliasIsName", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, "Other", eventstore.Aliases("Other"))
		}, "given twice"},
		{"AliasTwice", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, "Other", eventstore.Aliases("old", "old"))
		}, "given twice"},
		{"ControlCharacter", func(r *eventstore.Registry) error { return eventstore.Register[Other](r, "Other\n") }, "control character"},
		{"TooLong", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, strings.Repeat("n", eventstore.DefaultMaxTypeLength+1))
		}, "over the limit"},
		{"Pointer", func(r *eventstore.Registry) error { return eventstore.Register[*Other](r, "Other") }, "not a pointer"},
		{"Interface", func(r *eventstore.Registry) error { return eventstore.Register[error](r, "Other") }, "not a pointer or interface"},
		{"SchemaVersionZero", func(r *eventstore.Registry) error {
			return eventstore.Register[Other](r, "Other", eventstore.SchemaVersion(0))
		}, "schema version 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := eventstore.NewRegistry(nil)
			eventstore.MustRegister[OrderPlaced](r, "OrderPlaced", eventstore.Aliases("order_placed"))
			err := c.register(r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			// A failed registration leaves nothing behind.
			if got := r.Types(); !reflect.DeepEqual(got, []string{"OrderPlaced"}) {
				t.Fatalf("Types() after a failed registration = %v", got)
			}
			if r.Known("Other") || r.Known("old") {
				t.Fatal("a failed registration left a name behind")
			}
		})
	}
	t.Run("MustRegisterPanics", func(t *testing.T) {
		r := eventstore.NewRegistry(nil)
		defer func() {
			if recover() == nil {
				t.Fatal("MustRegister with an empty name did not panic")
			}
		}()
		eventstore.MustRegister[OrderPlaced](r, "")
	})
}

func TestRegistryAliases(t *testing.T) {
	// Renamed was stored as "customer_renamed", then "CustomerNameChanged".
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Renamed](r, "CustomerRenamed", eventstore.Aliases("customer_renamed", "CustomerNameChanged"))
	for _, typ := range []string{"CustomerRenamed", "customer_renamed", "CustomerNameChanged"} {
		got, err := eventstore.Decode[Renamed](r, recorded(eventstore.Event{Type: typ, Data: []byte(`{"name":"Ada"}`)}))
		if err != nil || got.Name != "Ada" {
			t.Errorf("Decode of %q = %+v, %v", typ, got, err)
		}
		if !r.Known(typ) {
			t.Errorf("Known(%q) = false", typ)
		}
	}
	// New events are written under the current name only.
	e, err := r.Encode(Renamed{Name: "Grace"}, eventstore.Metadata{})
	if err != nil || e.Type != "CustomerRenamed" {
		t.Errorf("Encode = %q, %v", e.Type, err)
	}
	if got := r.Types(); !reflect.DeepEqual(got, []string{"CustomerRenamed"}) {
		t.Errorf("Types() = %v, want the canonical name only", got)
	}
}

// upcastingRegistry registers Shipped at schema version 3 with upcasters
// from v1 and v2, counting their calls.
func upcastingRegistry(t *testing.T, calls *[]int) *eventstore.Registry {
	t.Helper()
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Shipped](r, "Shipped", eventstore.SchemaVersion(3), eventstore.Aliases("shipment_sent"))
	// v1 {"addr": "..."} -> v2 {"address": "..."}
	if err := r.Upcast("Shipped", 1, func(data []byte, md eventstore.Metadata) ([]byte, error) {
		*calls = append(*calls, 1)
		var v1 struct {
			Addr string `json:"addr"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"address": v1.Addr})
	}); err != nil {
		t.Fatal(err)
	}
	// v2 {"address": "street|carrier"} -> v3 {"address", "carrier"};
	// registered through the alias.
	if err := r.Upcast("shipment_sent", 2, func(data []byte, md eventstore.Metadata) ([]byte, error) {
		*calls = append(*calls, 2)
		var v2 struct {
			Address string `json:"address"`
		}
		if err := json.Unmarshal(data, &v2); err != nil {
			return nil, err
		}
		addr, carrier, ok := strings.Cut(v2.Address, "|")
		if !ok {
			return nil, fmt.Errorf("no carrier in %q", v2.Address)
		}
		return json.Marshal(Shipped{Address: addr, Carrier: carrier})
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryUpcasters(t *testing.T) {
	want := Shipped{Address: "1 Main St", Carrier: "DHL"}
	cases := []struct {
		name    string
		typ     string
		version int
		data    string
		calls   []int
	}{
		{"V1", "Shipped", 0, `{"addr":"1 Main St|DHL"}`, []int{1, 2}},
		{"V1Explicit", "Shipped", 1, `{"addr":"1 Main St|DHL"}`, []int{1, 2}},
		{"V1ByAlias", "shipment_sent", 1, `{"addr":"1 Main St|DHL"}`, []int{1, 2}},
		{"V2", "Shipped", 2, `{"address":"1 Main St|DHL"}`, []int{2}},
		{"V3", "Shipped", 3, `{"address":"1 Main St","carrier":"DHL"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls []int
			r := upcastingRegistry(t, &calls)
			e := eventstore.Event{Type: c.typ, Data: []byte(c.data), Metadata: eventstore.Metadata{SchemaVersion: c.version}}
			got, err := eventstore.Decode[Shipped](r, recorded(e))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Decode = %+v, want %+v", got, want)
			}
			if !reflect.DeepEqual(calls, c.calls) {
				t.Errorf("upcasters called %v, want %v", calls, c.calls)
			}
		})
	}

	t.Run("EncodeWritesCurrentVersion", func(t *testing.T) {
		var calls []int
		r := upcastingRegistry(t, &calls)
		e, err := r.Encode(want, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		if e.Metadata.SchemaVersion != 3 {
			t.Errorf("SchemaVersion = %d, want 3", e.Metadata.SchemaVersion)
		}
		got, err := eventstore.Decode[Shipped](r, recorded(e))
		if err != nil || got != want || len(calls) != 0 {
			t.Errorf("Decode of a current event = %+v, %v, upcasters %v", got, err, calls)
		}
	})

	t.Run("UpcasterFails", func(t *testing.T) {
		var calls []int
		r := upcastingRegistry(t, &calls)
		e := eventstore.Event{Type: "Shipped", Data: []byte(`{"address":"no carrier"}`), Metadata: eventstore.Metadata{SchemaVersion: 2}}
		_, err := r.Decode(recorded(e))
		de := requireDecodeError(t, err, eventstore.ErrDecode, "Shipped")
		if !strings.Contains(de.Error(), "no carrier") {
			t.Errorf("the error does not carry the upcaster's: %v", de)
		}
	})

	t.Run("MissingUpcaster", func(t *testing.T) {
		r := eventstore.NewRegistry(nil)
		eventstore.MustRegister[Shipped](r, "Shipped", eventstore.SchemaVersion(3))
		if err := r.Upcast("Shipped", 2, func(data []byte, _ eventstore.Metadata) ([]byte, error) { return data, nil }); err != nil {
			t.Fatal(err)
		}
		_, err := r.Decode(recorded(eventstore.Event{Type: "Shipped", Data: []byte(`{}`), Metadata: eventstore.Metadata{SchemaVersion: 1}}))
		requireDecodeError(t, err, eventstore.ErrDecode, "Shipped")
	})

	t.Run("NewerSchemaVersionRefused", func(t *testing.T) {
		var calls []int
		r := upcastingRegistry(t, &calls)
		e := eventstore.Event{Type: "Shipped", Data: []byte(`{"address":"x","carrier":"y"}`), Metadata: eventstore.Metadata{SchemaVersion: 4}}
		_, err := r.Decode(recorded(e))
		de := requireDecodeError(t, err, eventstore.ErrDecode, "Shipped")
		if !strings.Contains(de.Error(), "newer") {
			t.Errorf("the error does not say the version is newer: %v", de)
		}
	})

	t.Run("UpcastErrors", func(t *testing.T) {
		var calls []int
		r := upcastingRegistry(t, &calls)
		nop := func(data []byte, _ eventstore.Metadata) ([]byte, error) { return data, nil }
		if err := r.Upcast("Unknown", 1, nop); !errors.Is(err, eventstore.ErrUnknownEventType) {
			t.Errorf("Upcast of an unknown type: %v", err)
		}
		for _, from := range []int{0, 3, 4, -1} {
			if err := r.Upcast("Shipped", from, nop); err == nil {
				t.Errorf("Upcast from v%d of a v3 type succeeded", from)
			}
		}
		if err := r.Upcast("Shipped", 1, nop); err == nil {
			t.Error("a second upcaster from v1 was accepted")
		}
		if err := r.Upcast("Shipped", 1, nil); err == nil {
			t.Error("a nil upcaster was accepted")
		}
	})
}

func requireDecodeError(t *testing.T, err, sentinel error, typ string) *eventstore.DecodeError {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want an error matching %v", err, sentinel)
	}
	de, ok := errors.AsType[*eventstore.DecodeError](err)
	if !ok {
		t.Fatalf("got %T (%v), want a *DecodeError", err, err)
	}
	if de.Stream != "order-1" || de.Version != 7 || de.Type != typ {
		t.Fatalf("DecodeError names stream %q, version %d, type %q; want order-1, 7, %q", de.Stream, de.Version, de.Type, typ)
	}
	for _, part := range []string{`"order-1"`, "version 7", typ} {
		if !strings.Contains(de.Error(), part) {
			t.Errorf("%q does not mention %s", de.Error(), part)
		}
	}
	return de
}

func TestRegistryDecodeErrors(t *testing.T) {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](r, "OrderPlaced")
	eventstore.MustRegister[OrderPaid](r, "OrderPaid")

	t.Run("UnknownType", func(t *testing.T) {
		_, err := r.Decode(recorded(eventstore.Event{Type: "OrderRefunded", Data: []byte(`{}`)}))
		requireDecodeError(t, err, eventstore.ErrUnknownEventType, "OrderRefunded")
		if errors.Is(err, eventstore.ErrDecode) {
			t.Error("an unknown type also matches ErrDecode")
		}
	})
	for name, payload := range map[string]string{
		"WrongFieldType": `{"order_id":"o-1","amount":"forty-two"}`,
		"NotJSON":        `{"order_id":`,
		"Null":           `null`,
		"NullWithSpaces": " \n null \t",
		"Empty":          ``,
		"Array":          `[1,2]`,
		// Not one field of OrderPlaced: decoding would give a zero struct.
		"OnlyUnknownFields": `{"orderId":"o-1","total":42}`,
	} {
		t.Run("BadPayload/"+name, func(t *testing.T) {
			v, err := r.Decode(recorded(eventstore.Event{Type: "OrderPlaced", Data: []byte(payload)}))
			requireDecodeError(t, err, eventstore.ErrDecode, "OrderPlaced")
			if v != nil {
				t.Errorf("Decode returned %#v beside the error", v)
			}
		})
	}
	t.Run("WrongGoType", func(t *testing.T) {
		e := recorded(eventstore.Event{Type: "OrderPaid", Data: []byte(`{"order_id":"o-1"}`)})
		got, err := eventstore.Decode[OrderPlaced](r, e)
		requireDecodeError(t, err, eventstore.ErrDecode, "OrderPaid")
		if got != (OrderPlaced{}) {
			t.Errorf("Decode[T] returned %+v beside the error", got)
		}
		if _, err := eventstore.Decode[*OrderPaid](r, e); !errors.Is(err, eventstore.ErrDecode) {
			t.Errorf("Decode[*OrderPaid] (a pointer) = %v, want ErrDecode: values decode to values", err)
		}
	})
}

// upperCodec is a codec that is not JSON, to show the registry uses the one
// it is given.
type upperCodec struct{}

func (upperCodec) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return []byte(strings.ToUpper(string(b))), err
}

func (upperCodec) Unmarshal(data []byte, v any) error {
	return json.Unmarshal([]byte(strings.ToLower(string(data))), v)
}

// A payload that decodes to a zero struct is refused only when none of its
// fields belongs to the type: known fields holding zero values, an empty
// object, and unknown fields beside known ones (an additive change by a
// newer writer) all decode.
func TestRegistryZeroValuesDecode(t *testing.T) {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](r, "OrderPlaced")
	type Ping struct{}
	eventstore.MustRegister[Ping](r, "Ping")
	for _, c := range []struct{ typ, payload string }{
		{"OrderPlaced", `{"order_id":""}`},
		{"OrderPlaced", `{}`},
		{"OrderPlaced", `{"order_id":"","added_later":true}`},
		{"Ping", `{"added_later":true}`},
	} {
		if _, err := r.Decode(recorded(eventstore.Event{Type: c.typ, Data: []byte(c.payload)})); err != nil {
			t.Errorf("%s %s: %v", c.typ, c.payload, err)
		}
	}
}

func TestRegistryCodec(t *testing.T) {
	r := eventstore.NewRegistry(upperCodec{})
	eventstore.MustRegister[OrderPaid](r, "OrderPaid")
	e, err := r.Encode(OrderPaid{OrderID: "o-1"}, eventstore.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Data) != `{"ORDER_ID":"O-1"}` {
		t.Errorf("Data = %s, want the codec's output", e.Data)
	}
	got, err := eventstore.Decode[OrderPaid](r, recorded(e))
	if err != nil || got.OrderID != "o-1" {
		t.Errorf("Decode = %+v, %v", got, err)
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	r := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](r, "OrderPlaced")
	e, err := r.Encode(OrderPlaced{"o-1", 1}, eventstore.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	type T0 struct{}
	type T1 struct{}
	type T2 struct{}
	type T3 struct{}
	registers := []func() error{
		func() error { return eventstore.Register[T0](r, "T0") },
		func() error { return eventstore.Register[T1](r, "T1") },
		func() error { return eventstore.Register[T2](r, "T2") },
		func() error { return eventstore.Register[T3](r, "T3") },
	}
	errs := make([]error, 8) // each goroutine writes only its own slot
	var wg sync.WaitGroup
	for g := range errs {
		wg.Go(func() {
			if g < len(registers) {
				errs[g] = registers[g]()
				return
			}
			for range 200 {
				if _, err := eventstore.Decode[OrderPlaced](r, recorded(e)); err != nil {
					errs[g] = err
					return
				}
				r.Known("T1")
				r.Types()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := r.Types(); len(got) != 5 {
		t.Fatalf("Types() = %v", got)
	}
}
