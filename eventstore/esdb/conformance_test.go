package esdb

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/google/uuid"
)

// TestConformanceAgainstRealServer runs chronicle's conformance suite
// against a real EventStoreDB or KurrentDB named by CHRONICLE_TEST_ESDB
// (a connection string, e.g. esdb://127.0.0.1:2113?tls=false; see
// docs/esdb.md for a container command). Without it the test is skipped:
// no server can run on every machine. A server that is named but cannot be
// reached fails the test.
//
// A server has one log for everyone, so each case gets a fresh
// [Config.Namespace] instead of a fresh database: its streams, ReadAll and
// Subscribe see only that case's events.
func TestConformanceAgainstRealServer(t *testing.T) {
	conn := os.Getenv("CHRONICLE_TEST_ESDB")
	if conn == "" {
		t.Skip("CHRONICLE_TEST_ESDB is not set: set it to a connection string such as " +
			"esdb://127.0.0.1:2113?tls=false to run the conformance suite against a real " +
			"EventStoreDB/KurrentDB (docs/esdb.md has a container command)")
	}
	probe, err := New(Config{ConnectionString: conn})
	if err != nil {
		t.Fatalf("CHRONICLE_TEST_ESDB: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := probe.Ping(ctx); err != nil {
		t.Fatalf("CHRONICLE_TEST_ESDB=%q is set but the server does not answer: %v", conn, err)
	}
	probe.Close()

	// The server recognises event IDs within a stream only (docs/esdb.md):
	// the suite expects cross-stream reuse to be detected only where a
	// backend claims it.
	eventstoretest.RunWithOptions(t, func(t *testing.T) eventstore.Store {
		st, err := New(Config{ConnectionString: conn, Namespace: "chronicle-test-" + uuid.NewString()[:13] + "/"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}, eventstoretest.Options{Idempotency: eventstoretest.IdempotencyStream})
}
