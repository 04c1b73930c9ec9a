package fulfilment

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
)

// TestShipToKeepsTheAddress: the order's address reaches logistics whole,
// and both types encode to the same JSON, so a ShipmentCreated stored
// before logistics had its own Address type decodes identically.
func TestShipToKeepsTheAddress(t *testing.T) {
	in := order.Address{Name: "Ada", Street: "12 Market Street", City: "Springfield", Country: "DE"}
	// Every field set: a field added to order.Address without a value here
	// would hide from the comparison below.
	v := reflect.ValueOf(in)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("order.Address.%s is unset in the test", v.Type().Field(i).Name)
		}
	}
	out := shipTo(in)
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("logistics address encodes as %s, the order's as %s", got, want)
	}
	var back logistics.Address
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if back != out {
		t.Fatalf("order address JSON decodes to %+v, want %+v", back, out)
	}
}
