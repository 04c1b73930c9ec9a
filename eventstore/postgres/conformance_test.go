package postgres_test

import (
	"time"

	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
)

func TestConformance(t *testing.T) {
	pgtest.Require(t)
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
		// The test server is shared: other sessions' transactions hold the
		// horizon back now and then, so ReadAll may wait longer than the
		// default for read-your-writes.
		s, _, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, HorizonWait: 30 * time.Second}, pgtest.MaxConns(24))
		return s
	})
}
