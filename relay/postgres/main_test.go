package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

// A test that must SIGKILL a relay runs it in a child process: the test
// binary again, with CHRONICLE_RELAY_CHILD set to the schema and
// CHRONICLE_RELAY_SPEC to the broker fixture.
func TestMain(m *testing.M) {
	if schema := os.Getenv("CHRONICLE_RELAY_CHILD"); schema != "" {
		if err := child(schema, os.Getenv("CHRONICLE_RELAY_SPEC")); err != nil {
			fmt.Fprintln(os.Stderr, "relay child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs the relay "orders" until it is killed.
func child(schema, spec string) error {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema + "_child"
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	events, err := espg.New(pool, espg.Config{Schema: schema, PollInterval: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	state, err := relaypg.New(pool, relaypg.Config{Schema: schema, Owner: "child", ClaimInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	pub, closePub, err := brokertest.PublisherFromSpec(spec)
	if err != nil {
		return err
	}
	defer closePub()
	r, err := relay.New(events, state, pub, relayConfig())
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

func relayConfig() relay.Config {
	return relay.Config{Name: "orders", Source: "/test/orders", BatchSize: 200, CheckpointInterval: 20 * time.Millisecond,
		Backoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, RetryInterval: 50 * time.Millisecond}
}
