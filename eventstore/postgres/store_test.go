package postgres_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newStore returns a migrated store on a fresh schema (dropped when t ends),
// polling every 20ms so that tests relying on the polling fallback are quick.
func newStore(t testing.TB, opts ...func(*pgxpool.Config)) (*espg.Store, *pgxpool.Pool, string) {
	t.Helper()
	return newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond}, opts...)
}

func newStoreConfig(t testing.TB, cfg espg.Config, opts ...func(*pgxpool.Config)) (*espg.Store, *pgxpool.Pool, string) {
	t.Helper()
	pool, schema := pgtest.Pool(t, append([]func(*pgxpool.Config){asyncCommit}, opts...)...)
	cfg.Schema = schema
	s, err := espg.New(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, pool, schema
}

// poolAtMigration is a pool on a fresh schema (dropped when t ends) that
// holds the event store's first n migrations only.
func poolAtMigration(t *testing.T, n int) (*pgxpool.Pool, string) {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	set := espg.Migrations
	set.Migrations = set.Migrations[:n]
	if _, err := pgmigrate.Apply(t.Context(), pool, schema, set); err != nil {
		t.Fatal(err)
	}
	return pool, schema
}

// appendThroughFunction appends ev as version 1 of stream through the
// schema's append_events, as a binary of an older migration did (payloads
// as json: migration 4 on).
func appendThroughFunction(t *testing.T, pool *pgxpool.Pool, stream string, ev eventstore.Event) {
	t.Helper()
	var status int16
	if err := pool.QueryRow(t.Context(), `SELECT status FROM append_events($1, 1::smallint, 0, true,
		ARRAY[$2::uuid], ARRAY[$3::text], ARRAY[$4::json], ARRAY[NULL::json])`, stream, ev.ID, ev.Type, string(ev.Data)).Scan(&status); err != nil || status != 0 {
		t.Fatalf("append through append_events: status %d, %v", status, err)
	}
}

// unmigratedStore is a store on schema, whose migration next is pending:
// its Append refuses with ErrNotMigrated naming it.
func unmigratedStore(t *testing.T, pool *pgxpool.Pool, schema string, next int) *espg.Store {
	t.Helper()
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = s.Append(t.Context(), "old", eventstore.Exact(1), eventstore.NewEvent("Early", nil))
	if !errors.Is(err, espg.ErrNotMigrated) || !strings.Contains(err.Error(), strconv.Itoa(next)) {
		t.Fatalf("append before migration %d: %v, want ErrNotMigrated naming migration %d", next, err, next)
	}
	return s
}

// asyncCommit turns off synchronous_commit for the test's sessions: commits
// stop waiting for the WAL flush (about 4 ms on the test machine), which
// would otherwise make the many-writer tests take minutes. Atomicity,
// isolation and ordering, which the tests check, are unchanged; only
// durability across a server crash is given up, and no test crashes the
// server.
func asyncCommit(c *pgxpool.Config) {
	c.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
}

// follow runs a subscription from `from` in the background and sends what
// it yields on the returned channel; errors other than the end of ctx fail
// the test.
func follow(t testing.TB, ctx context.Context, s eventstore.Store, from eventstore.Position) <-chan eventstore.RecordedEvent {
	t.Helper()
	out := make(chan eventstore.RecordedEvent, 1024)
	go func() {
		defer close(out)
		for e, err := range s.Subscribe(ctx, eventstore.SubscribeOptions{From: from}) {
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("subscription: %v", err)
				}
				return
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// next waits (bounded, so a broken store fails rather than hangs) for the
// next delivered event.
func next(t testing.TB, ch <-chan eventstore.RecordedEvent) eventstore.RecordedEvent {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription ended")
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	panic("unreachable")
}

// quiet asserts that nothing is delivered for a while: an absence check,
// never a bound on how fast something happens.
func quiet(t testing.TB, ch <-chan eventstore.RecordedEvent, d time.Duration, why string) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("%s: got %s v%d at %v", why, e.StreamID, e.Version, e.Position)
	case <-time.After(d):
	}
}

func TestConfigValidate(t *testing.T) {
	pool, _ := pgtest.Pool(t)
	for _, bad := range []espg.Config{
		{Schema: `x"; DROP TABLE events; --`},
		{Schema: "1abc"},
		{PollInterval: -time.Second},
		{AppendAttempts: -1},
		{Limits: eventstore.Limits{MaxEventSize: -1}},
		{Limits: eventstore.Limits{MaxStreamIDLength: 1 << 20}},
		{Limits: eventstore.Limits{MaxStreamIDLength: espg.MaxStreamIDLength + 1}},
	} {
		if _, err := espg.New(pool, bad); err == nil {
			t.Errorf("New(%+v) accepted a bad config", bad)
		}
	}
	err := espg.Config{Schema: "a-b", PageSize: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Schema") || !strings.Contains(err.Error(), "PageSize") {
		t.Errorf("Validate should report every problem at once, got %v", err)
	}
	if _, err := espg.New(nil, espg.Config{}); err == nil {
		t.Error("New accepted a nil pool")
	}
	if err := (espg.Config{Limits: eventstore.Limits{MaxStreamIDLength: espg.MaxStreamIDLength}}).Validate(); err != nil {
		t.Errorf("the longest stream ID limit the index holds was refused: %v", err)
	}
}

// TestLongestStreamID: a stream ID as long as espg.MaxStreamIDLength,
// of random bytes that do not compress (the worst case for the primary
// key's index rows), is stored and read back; before Config.Validate
// refused larger limits, one byte more failed inside the index (54000)
// instead of as an invalid stream ID.
func TestLongestStreamID(t *testing.T) {
	s, pool, _ := newStoreConfig(t, espg.Config{Limits: eventstore.Limits{MaxStreamIDLength: espg.MaxStreamIDLength}})
	ctx := t.Context()
	// Printable ASCII drawn at random: about 6.5 bits per byte, which
	// PostgreSQL's compression cannot shrink enough to matter.
	rnd := rand.New(rand.NewPCG(1, 2))
	id := make([]byte, espg.MaxStreamIDLength)
	for i := range id {
		id[i] = byte(33 + rnd.IntN(94))
	}
	stream := string(id)
	if _, err := s.Append(ctx, stream, eventstore.NoStream, eventstore.NewEvent("Long", nil)); err != nil {
		t.Fatalf("append to a stream ID of %d bytes: %v", len(stream), err)
	}
	if res, err := s.Append(ctx, stream, eventstore.Exact(1), eventstore.NewEvent("Long", nil)); err != nil || res.Version != 2 {
		t.Fatalf("second append: version %d, %v", res.Version, err)
	}
	n := 0
	for e, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.StreamID != stream {
			t.Fatal("stream ID changed")
		}
		n++
	}
	if n != 2 {
		t.Fatalf("read %d events, want 2", n)
	}
	// One byte more, written by hand, is what the limit keeps out.
	_, err := pool.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type)
		VALUES (0, $1, 1, gen_random_uuid(), 'T')`, stream+"x")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgerr.ProgramLimitExceeded {
		t.Fatalf("a stream ID one byte over the limit, inserted by hand: %v, want the index's 54000", err)
	}
}

// TestStreamsArguments: Streams refuses a prefix or a starting point that
// could not be part of a stream ID with an *eventstore.ArgumentError, as
// ReadStream refuses such an ID, instead of PostgreSQL's 22021.
func TestStreamsArguments(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "a-1", eventstore.NoStream, eventstore.NewEvent("E", nil)); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []espg.StreamsOptions{
		{Prefix: "a\x00"}, {Prefix: "a\xff"}, {After: "a\x00"}, {After: "\xfe"}, {Limit: -1},
		{Prefix: strings.Repeat("p", eventstore.DefaultMaxStreamIDLength+1)},
	} {
		got, err := s.Streams(ctx, opts)
		var ae *eventstore.ArgumentError
		if !errors.As(err, &ae) || !errors.Is(err, eventstore.ErrInvalidArgument) || got != nil {
			t.Errorf("Streams(%#v): %v, %v; want an *eventstore.ArgumentError", opts, got, err)
		}
	}
	if got, err := s.Streams(ctx, espg.StreamsOptions{Prefix: "a-"}); err != nil || len(got) != 1 {
		t.Fatalf("Streams(a-): %v, %v", got, err)
	}
}

func TestNewNeverCreatesTables(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := context.Background()
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Append(ctx, "a", eventstore.Any, eventstore.NewEvent("X", nil))
	if !errors.Is(err, espg.ErrNotMigrated) {
		t.Fatalf("append before Migrate: %v, want ErrNotMigrated", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables before Migrate: %d, %v", n, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Migrations) == 0 || st.Migrations[len(st.Migrations)-1].Pending() {
		t.Fatalf("migrations after Migrate: %+v", st.Migrations)
	}
	if _, err := s.Append(ctx, "a", eventstore.Any, eventstore.NewEvent("X", nil)); err != nil {
		t.Fatal(err)
	}
}

// The events table is the only record of a stream's version: an event
// inserted by hand (a migration script, a foreign tool) is part of the
// stream for the next append, and a version taken twice is refused by the
// primary key, whoever tries.
func TestVersionTakenByHand(t *testing.T) {
	s, pool, schema := newStore(t)
	ctx := t.Context()
	ev := func() eventstore.Event { return eventstore.NewEvent("E", []byte(`{}`)) }
	if _, err := s.Append(ctx, "hand", eventstore.NoStream, ev()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data)
		VALUES (pg_current_xact_id()::text::bigint, 'hand', 2, gen_random_uuid(), 'ByHand', '{}')`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx, "hand", eventstore.Exact(1), ev())
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("Append at Exact(1) after a hand-written version 2: %v, want a conflict with actual version 2", err)
	}
	res, err := s.Append(ctx, "hand", eventstore.Any, ev())
	if err != nil || res.Version != 3 {
		t.Fatalf("Append(Any) after a hand-written version 2: version %d, %v; want 3", res.Version, err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if res, err := s.AppendTx(ctx, tx, "hand", eventstore.Exact(3), ev()); err != nil || res.Version != 4 {
		t.Fatalf("AppendTx(Exact(3)): version %d, %v; want 4", res.Version, err)
	}
	// Version 4 is taken by tx, not yet committed: a by-hand insert of it
	// waits for tx and is refused by the primary key once tx commits.
	hand := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data)
			VALUES (pg_current_xact_id()::text::bigint, 'hand', 4, gen_random_uuid(), 'ByHand', '{}')`)
		hand <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the insert reach the key (either order is refused)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if err := <-hand; !errors.As(err, &pgErr) || pgErr.Code != pgerr.UniqueViolation {
		t.Fatalf("by-hand insert of a taken version: %v, want a unique violation", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = 'hand'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("stream holds %d events, want 4", n)
	}

	// append_events meets a by-hand writer at the primary key: inside the
	// caller's transaction, a retryable conflict.
	byHand, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer byHand.Rollback(context.Background())
	if _, err := byHand.Exec(ctx, `INSERT INTO events (transaction_id, stream_id, version, event_id, type, data)
		VALUES (pg_current_xact_id()::text::bigint, 'hand', 5, gen_random_uuid(), 'ByHand', '{}')`); err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() {
		result <- pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := s.AppendTx(ctx, tx, "hand", eventstore.Exact(4), ev())
			return err
		})
	}()
	pgtest.AwaitLockWait(t, schema, "%append_events%", "transactionid")
	if err := byHand.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-result
	if !errors.As(err, &ce) || !eventstore.IsRetryable(err) {
		t.Fatalf("AppendTx that met a by-hand version at the key: %v, want a retryable conflict", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = 'hand'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("stream holds %d events (%v), want 5", n, err)
	}
}

// TestUpgradeFromVersion1: a schema written by migration 1 (streams rows
// kept by its append_events) takes migration 2 and carries on: versions
// continue from the stored events, conflicts report them, streams are
// listed from the events.
func TestUpgradeFromVersion1(t *testing.T) {
	pool, schema := poolAtMigration(t, 1)
	ctx := t.Context()
	for _, st := range []struct {
		stream string
		n      int
	}{{"old", 3}, {"other", 1}} {
		for range st.n {
			var status int16
			if err := pool.QueryRow(ctx, `SELECT status FROM append_events($1, 0::smallint, 0, false,
				ARRAY[gen_random_uuid()], ARRAY['V1'], ARRAY['{}'::jsonb], ARRAY[NULL::jsonb])`, st.stream).Scan(&status); err != nil || status != 0 {
				t.Fatalf("version 1 append: status %d, %v", status, err)
			}
		}
	}
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A store newer than its schema refuses to write until it is migrated
	// (its appends would leave migration 1's streams rows stale), and
	// writes nothing.
	if _, err := s.Append(ctx, "old", eventstore.Exact(3), eventstore.NewEvent("Early", nil)); !errors.Is(err, espg.ErrNotMigrated) {
		t.Fatalf("append before migration 2: %v, want ErrNotMigrated", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, "old", eventstore.Exact(3), eventstore.NewEvent("Early", nil)); !errors.Is(err, espg.ErrNotMigrated) {
		t.Fatalf("AppendTx before migration 2: %v, want ErrNotMigrated", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, []eventstore.RecordedEvent{{StreamID: "imp", Version: 1, Event: eventstore.NewEvent("Early", nil)}}); !errors.Is(err, espg.ErrNotMigrated) {
		t.Fatalf("Import before migration 2: %v, want ErrNotMigrated", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Append(ctx, "old", eventstore.Exact(3), eventstore.NewEvent("V2", nil)); err != nil || res.Version != 4 {
		t.Fatalf("append after the upgrade: version %d, %v; want 4", res.Version, err)
	}
	var ce *eventstore.ConflictError
	if _, err := s.Append(ctx, "other", eventstore.NoStream, eventstore.NewEvent("V2", nil)); !errors.As(err, &ce) || ce.Actual != 1 {
		t.Fatalf("NoStream on a stream of version 1: %v, want a conflict with actual 1", err)
	}
	streams, err := s.Streams(ctx, espg.StreamsOptions{})
	if err != nil || len(streams) != 2 || streams[0] != (espg.StreamInfo{ID: "old", Version: 4}) || streams[1] != (espg.StreamInfo{ID: "other", Version: 1}) {
		t.Fatalf("Streams() = %+v, %v", streams, err)
	}
	n := 0
	var last eventstore.Position
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && !e.Position.After(last) {
			t.Fatalf("ReadAll out of order at %v", e.Position)
		}
		last = e.Position
		n++
	}
	if n != 5 {
		t.Fatalf("ReadAll: %d events, want 5", n)
	}
}
