package postgres

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

// TestDecodeMetadata checks the hand-written scanner against encoding/json
// on what jsonb prints and on shapes it must hand over.
func TestDecodeMetadata(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"causation_id": "cmd-7", "correlation_id": "order-42"}`,
		`{"values": {"k": "v", "": "x", "é": "日本"}, "causation_id": "c", "schema_version": 3, "correlation_id": "o"}`,
		`{"values": {}}`,
		`{"correlation_id": "a \"quoted\" \\ value"}`,
		`{"correlation_id": "\u00e9"}`,
		`{"values": {"k\n": "v"}}`,
		`{"schema_version": -2}`,
		`{"unknown": 1, "correlation_id": "x"}`,
		`{"correlation_id": "x",}`,
		`{"correlation_id": "x"} trailing`,
		`{"values": {"a": "b" "c": "d"}}`,
		` { "correlation_id" : "x" , "values" : { "a" : "b" , "c" : "d" } } `,
	}
	for _, in := range inputs {
		var want eventstore.Metadata
		wantErr := json.Unmarshal([]byte(in), &want)
		var got eventstore.Metadata
		got, err := decodeMetadata([]byte(in), nil)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json says %v", in, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", in, got, want)
		}
	}
}
