// Package valuediff renders what the given/when/then kits report when an
// expectation fails: values with their Go types and JSON, and a want/got
// comparison line by line. It is internal: the kits in aggregatetest,
// projectiontest and sagatest share it.
package valuediff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Show renders v as its Go type and its JSON.
func Show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T %+v", v, v)
	}
	return fmt.Sprintf("%T %s", v, b)
}

// List renders values one per numbered line, or "(none)".
func List(vs []any) string {
	if len(vs) == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for i, v := range vs {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, Show(v))
	}
	return b.String()
}

// Equal reports whether got and want hold deeply equal values in order.
func Equal(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			return false
		}
	}
	return true
}

// Diff renders want against got line by line: "  " for equal values, "-"
// for wanted ones, "+" for what came instead.
func Diff(want, got []any) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "- %d. %s\n", i+1, Show(want[i]))
		case i >= len(want):
			fmt.Fprintf(&b, "+ %d. %s\n", i+1, Show(got[i]))
		case reflect.DeepEqual(want[i], got[i]):
			fmt.Fprintf(&b, "  %d. %s\n", i+1, Show(got[i]))
		default:
			fmt.Fprintf(&b, "- %d. %s\n+ %d. %s\n", i+1, Show(want[i]), i+1, Show(got[i]))
		}
	}
	return b.String()
}
