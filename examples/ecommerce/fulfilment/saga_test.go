package fulfilment

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
)

// TestShipmentRequestContract: the order context's OrderShipmentRequested
// reaches logistics whole. The contexts share the message's JSON, not a
// package: logistics reads it with its own types, and both encode to the
// same JSON, so nothing is lost or renamed on the way.
func TestShipmentRequestContract(t *testing.T) {
	in := order.ShipmentRequested{OrderID: "o-1", Items: 3,
		Address: order.Address{Name: "Ada", Street: "12 Market Street", City: "Springfield", Country: "DE"}}
	// Every field set: a field added to order.Address without a value here
	// would hide from the comparison below.
	v := reflect.ValueOf(in.Address)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("order.Address.%s is unset in the test", v.Type().Field(i).Name)
		}
	}
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out logistics.ShipmentRequested
	if err := json.Unmarshal(want, &out); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("logistics reads the request as %s, the order wrote %s", got, want)
	}
}
