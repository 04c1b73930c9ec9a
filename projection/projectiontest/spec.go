package projectiontest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/valuediff"
	"github.com/chronicle-go/chronicle/projection"
)

// Spec is a given / then specification of one projection: given these
// events in the log, the read model holds these rows. The events are
// encoded with the registry and appended to an in-memory event store; a
// [projection.Runner] with the checkpoint store under test (memory or
// PostgreSQL) applies them, exactly as in production, before each Then.
//
// Given and Then may alternate: each Then applies the events given since
// the previous one, on top of what is already applied.
type Spec[Tx any] struct {
	t           testing.TB
	registry    *eventstore.Registry
	p           *projection.Projection[Tx]
	checkpoints projection.CheckpointStore[Tx]
	log         *memory.Store
	broken      bool
}

// For starts a specification of p, whose events registry encodes, run
// with checkpoints: a [projection.NewMemoryStore] for in-memory read
// models, the PostgreSQL package's store (on a schema of
// [github.com/chronicle-go/chronicle/pgtest]) for PostgreSQL ones.
func For[Tx any](t testing.TB, registry *eventstore.Registry, p *projection.Projection[Tx], checkpoints projection.CheckpointStore[Tx]) *Spec[Tx] {
	t.Helper()
	s := &Spec[Tx]{t: t, registry: registry, p: p, checkpoints: checkpoints, log: memory.New(memory.Config{})}
	t.Cleanup(func() { _ = s.log.Close() })
	switch {
	case registry == nil:
		s.fail("projectiontest: no registry: pass the one that encodes the projection's events")
	case p == nil || checkpoints == nil:
		s.fail("projectiontest: For needs a projection and a checkpoint store")
	default:
		if err := p.Validate(); err != nil {
			s.fail("projectiontest: %v", err)
			break
		}
		// The spec's log is new: a checkpoint left by another spec would
		// point into a different log and skip events.
		records, err := checkpoints.Records(context.Background())
		if err != nil {
			s.fail("projectiontest: %v", err)
			break
		}
		for _, r := range records {
			if r.Name == p.Name() && (!r.Checkpoint.IsZero() || r.Failure != nil) {
				s.fail("projectiontest: the checkpoint store already holds a checkpoint of %s: give each spec a fresh store "+
					"(projection.NewMemoryStore(), or a new pgtest schema)", p.Name())
			}
		}
	}
	return s
}

func (s *Spec[Tx]) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf(format, args...)
	s.broken = true
}

// Given appends events, values of types the registry knows, to stream, in
// order. Handlers see them as recorded events of that stream (its ID, the
// versions 1, 2, …).
func (s *Spec[Tx]) Given(stream string, events ...any) *Spec[Tx] {
	s.t.Helper()
	if s.broken {
		return s
	}
	batch := make([]eventstore.Event, 0, len(events))
	for _, e := range events {
		ev, err := s.registry.Encode(e, eventstore.Metadata{})
		if err != nil {
			s.fail("projectiontest: given event %s: %v", valuediff.Show(e), err)
			return s
		}
		batch = append(batch, ev)
	}
	if _, err := s.log.Append(context.Background(), stream, eventstore.Any, batch...); err != nil {
		s.fail("projectiontest: append to %s: %v", stream, err)
	}
	return s
}

// Rows reads a read model's rows, in a stable order, for [Spec.ThenRows].
// With PostgreSQL, pgtest.Rows(pool, "SELECT … ORDER BY …") is one.
type Rows func(ctx context.Context) ([][]any, error)

// ThenRows applies the given events and checks that rows returns want,
// row by row. Integers compare by value whatever their Go type (an int in
// want matches a bigint's int64), as do floats.
func (s *Spec[Tx]) ThenRows(rows Rows, want ...[]any) *Spec[Tx] {
	s.t.Helper()
	if !s.apply() {
		return s
	}
	got, err := rows(context.Background())
	if err != nil {
		s.fail("projectiontest: reading the rows: %v", err)
		return s
	}
	if g, w := normalRows(got), normalRows(want); !valuediff.Equal(g, w) {
		s.fail("projectiontest: %s: rows differ (- want, + got):\n%s", s.p.Name(), valuediff.Diff(w, g))
	}
	return s
}

// ThenTable applies the given events and checks that the in-memory table
// holds exactly want.
func ThenTable[K comparable, V any](s *Spec[*projection.MemoryTx], table *projection.Table[K, V], want map[K]V) *Spec[*projection.MemoryTx] {
	s.t.Helper()
	if !s.apply() {
		return s
	}
	got := table.Snapshot()
	if len(got) == 0 && len(want) == 0 {
		return s
	}
	if !reflect.DeepEqual(got, want) {
		var lines []string
		for k, w := range want {
			g, ok := got[k]
			switch {
			case !ok:
				lines = append(lines, fmt.Sprintf("- %v: %s", k, valuediff.Show(w)))
			case !reflect.DeepEqual(g, w):
				lines = append(lines, fmt.Sprintf("- %v: %s\n+ %v: %s", k, valuediff.Show(w), k, valuediff.Show(g)))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				lines = append(lines, fmt.Sprintf("+ %v: %s", k, valuediff.Show(g)))
			}
		}
		s.fail("projectiontest: %s: table differs (- want, + got):\n%s", s.p.Name(), strings.Join(sorted(lines), "\n"))
	}
	return s
}

// ThenStops applies the given events and checks that the projection
// stopped at a failed event whose error contains errText: a handler
// refusing an event, as the runner would report it.
func (s *Spec[Tx]) ThenStops(errText string) *Spec[Tx] {
	s.t.Helper()
	if s.broken {
		return s
	}
	st, err := s.run()
	switch {
	case err != nil:
		s.fail("projectiontest: %s: %v", s.p.Name(), err)
	case st.Failure == nil:
		s.fail("projectiontest: %s: applied every event, want it stopped at one failing with %q", s.p.Name(), errText)
	case !strings.Contains(st.Failure.Error, errText):
		s.fail("projectiontest: %s: stopped at %s@%d %s with %q, want an error containing %q", s.p.Name(),
			st.Failure.Stream, st.Failure.Version, st.Failure.Type, st.Failure.Error, errText)
	}
	return s
}

// apply runs the projection over the events given so far and reports
// whether they all applied.
func (s *Spec[Tx]) apply() bool {
	s.t.Helper()
	if s.broken {
		return false
	}
	st, err := s.run()
	if err != nil {
		s.fail("projectiontest: %s: %v", s.p.Name(), err)
		return false
	}
	if f := st.Failure; f != nil {
		s.fail("projectiontest: %s: stopped at %s@%d %s: %s", s.p.Name(), f.Stream, f.Version, f.Type, f.Error)
		return false
	}
	return true
}

// run runs a runner until the projection has applied every given event it
// handles, or stopped at a failed one.
func (s *Spec[Tx]) run() (projection.Status, error) {
	runner, err := projection.NewRunner(s.log, s.checkpoints, projection.Config{
		MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond, PollInterval: 10 * time.Millisecond,
	}, s.p)
	if err != nil {
		return projection.Status{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = runner.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all, err := runner.Status(ctx)
		if err != nil {
			return projection.Status{}, err
		}
		for _, st := range all {
			if st.Name != s.p.Name() {
				continue
			}
			if st.State == projection.Failed || (st.Owned && st.LagEvents == 0 && !st.LagAtLeast) {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return projection.Status{}, fmt.Errorf("the runner did not apply the given events within 30s (status %+v)", all)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// normalRows makes numbers comparable whatever their Go type.
func normalRows(rows [][]any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		row := make([]any, len(r))
		for j, v := range r {
			row[j] = normal(v)
		}
		out[i] = row
	}
	return out
}

func normal(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := rv.Uint(); u <= 1<<63-1 {
			return int64(u)
		}
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	return v
}

func sorted(lines []string) []string {
	slices.Sort(lines)
	return lines
}
