package eventstore

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonCases are documents at the edges of the grammar, for TestValidJSON
// and as FuzzValidJSON's seeds.
var jsonCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `[ ]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{:1}`,
	`{"a":1 "b":2}`, `{"a":1,"b":[true,false,null,{"c":"d"}]}`, `[[[[]]]]`, `[[[]]`, `[]]`, `{}}`, `{"a":[}]}`,
	`0`, `-0`, `01`, `-`, `-a`, `1.`, `.1`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e-300`, `1ee5`, `1.5.5`,
	`123456789012345678901234567890`, `1e131071`, `true`, `false`, `null`, `tru`, `nul`, `True`, `truex`, `nullnull`,
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00"`, `"\x"`, `"\`,
	`"a`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"é\"", "\t\n\r 1 \t\n\r", "1\x00", `1 2`, `"a" "b"`, `{"a":1}x`,
	`{"a"  :  1  ,  "b"  :  2}`, `[1, 2, 3 ]`, `{"":""}`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `[-]`, `[-1]`, `[+1]`,
}

// TestValidJSON: validJSON agrees with json.Valid on the grammar's edges,
// and on documents nested around the depth where it hands over to
// json.Valid and around json.Valid's own limit.
func TestValidJSON(t *testing.T) {
	cases := append([]string(nil), jsonCases...)
	for _, d := range []int{fastJSONDepth - 1, fastJSONDepth, fastJSONDepth + 1, 10000, 10001} {
		cases = append(cases, strings.Repeat("[", d)+strings.Repeat("]", d), strings.Repeat(`{"a":`, d)+"1"+strings.Repeat("}", d),
			strings.Repeat("[", d)+strings.Repeat("]", d-1))
	}
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValidJSON holds validJSON to json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	data := []byte(`{"order":"order-42","lines":3,"total":129.5,"note":"a payload of about 110 bytes","ok":true}`)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(data)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(data)
		}
	})
}
