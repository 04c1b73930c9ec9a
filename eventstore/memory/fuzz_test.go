package memory_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// FuzzAppend: every append is refused with the typed error and stores
// nothing, or reads back byte for byte (see eventstoretest.FuzzAppend).
func FuzzAppend(f *testing.F) {
	s := memory.New(memory.Config{})
	f.Cleanup(func() { s.Close() })
	eventstoretest.FuzzAppend(f, s, func(testing.TB) int { return s.Len() })
}
