package postgres_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// TestMigration4KeepsNumbersExact: numbers that jsonb would print
// enormous (at or beyond 1e64, or with more than 64 digits after the point)
// are written by migration 4 in exponent form, without printing them in
// full; each still reads back as exactly the value stored, and the numbers
// around them as jsonb printed them.
func TestMigration4KeepsNumbersExact(t *testing.T) {
	pool, schema := poolAtMigration(t, 3)
	ctx := t.Context()
	numbers := []string{
		"1e131071", "-2.5e-16000", "0e-16000", "1e64", "-1e64", "9.99e63", "12345e70", "-7.125e300", "1.5e-100",
		"5e-65", "1e-64", "0.000001", "0e-20", "1.23456789012345678901234567890e-70",
		"123456789012345678901234567890123456789012345678901234567890123456789",
		"-" + strings.Repeat("9", 300) + "." + strings.Repeat("1", 300),
		"1" + strings.Repeat("0", 70) + "1e40", "42",
	}
	payload := "[" + strings.Join(numbers, ", ") + "]"
	if _, err := pool.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data, metadata)
		VALUES (pg_current_xact_id()::text::bigint, 's', 1, gen_random_uuid(), 'Numbers', $1::jsonb, '{}'::jsonb)`, payload); err != nil {
		t.Fatal(err)
	}
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("read after migration 4: %d events, %v", len(got), err)
	}
	var read []json.Number
	dec := json.NewDecoder(bytes.NewReader(got[0].Data))
	dec.UseNumber()
	if err := dec.Decode(&read); err != nil || len(read) != len(numbers) {
		t.Fatalf("%s: %d numbers, %v", got[0].Data, len(read), err)
	}
	for i, n := range read {
		want, _ := new(big.Rat).SetString(numbers[i])
		r, ok := new(big.Rat).SetString(string(n))
		if !ok || r.Cmp(want) != 0 {
			t.Errorf("%.60s reads back as %.60s", numbers[i], n)
		}
		if len(n) > len(numbers[i])+70 {
			t.Errorf("%.60s reads back as %d bytes", numbers[i], len(n))
		}
	}
}
