package postgres_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/eventstoretest"
	"github.com/chronicle-go/chronicle/internal/pgtest"
)

func TestConformance(t *testing.T) {
	pgtest.Require(t)
	eventstoretest.RunWithOptions(t, func(t *testing.T) eventstore.Store {
		s, _, _ := newStore(t, pgtest.MaxConns(24))
		return s
	}, eventstoretest.Options{
		// 16 writers racing Exact(n) on one row serialise on its lock and
		// each attempt is a commit: 250 rounds keep the case to seconds.
		RaceRounds: 250,
	})
}
