package snapshottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/aggregate"
)

// Run runs the suite; newStore returns a new, empty store each time it is
// called (from within the subtest that uses it, so it may register
// clean-ups).
func Run(t *testing.T, newStore func(t *testing.T) aggregate.SnapshotStore) {
	t.Run("LoadMissing", func(t *testing.T) { testLoadMissing(t, newStore(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("CreatedAt", func(t *testing.T) { testCreatedAt(t, newStore(t)) })
	t.Run("NewerWins", func(t *testing.T) { testNewerWins(t, newStore(t)) })
	t.Run("InvalidRefused", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("NoSharedMemory", func(t *testing.T) { testNoSharedMemory(t, newStore(t)) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, newStore(t)) })
	t.Run("ConcurrentSaves", func(t *testing.T) { testConcurrent(t, newStore(t)) })
}

func valid(stream string, version uint64) aggregate.Snapshot {
	return aggregate.Snapshot{Stream: stream, Type: "account", Version: version, SchemaVersion: 1,
		Data: []byte(fmt.Sprintf(`{"v":%d}`, version)), CreatedAt: time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)}
}

func save(t *testing.T, s aggregate.SnapshotStore, snap aggregate.Snapshot) {
	t.Helper()
	if err := s.SaveSnapshot(context.Background(), snap); err != nil {
		t.Fatalf("SaveSnapshot(%q v%d): %v", snap.Stream, snap.Version, err)
	}
}

func load(t *testing.T, s aggregate.SnapshotStore, stream string) (aggregate.Snapshot, bool) {
	t.Helper()
	snap, ok, err := s.LoadSnapshot(context.Background(), stream)
	if err != nil {
		t.Fatalf("LoadSnapshot(%q): %v", stream, err)
	}
	return snap, ok
}

func equal(a, b aggregate.Snapshot) bool {
	return a.Stream == b.Stream && a.Type == b.Type && a.Version == b.Version && a.SchemaVersion == b.SchemaVersion &&
		bytes.Equal(a.Data, b.Data) && a.CreatedAt.Equal(b.CreatedAt) && a.CreatedAt.Location() == b.CreatedAt.Location()
}

func testLoadMissing(t *testing.T, s aggregate.SnapshotStore) {
	if snap, ok := load(t, s, "account-none"); ok || !equal(snap, aggregate.Snapshot{}) {
		t.Fatalf("a missing snapshot loaded as %+v (found %v)", snap, ok)
	}
	for _, stream := range []string{"", "account-\x00", "account-\xff"} {
		if _, ok := load(t, s, stream); ok {
			t.Fatalf("a snapshot of the stream ID %q, which none can have, was found", stream)
		}
	}
}

// Every field comes back as saved; Data byte for byte, an empty Data as
// empty and not nil, and snapshots of other streams apart.
func testRoundTrip(t *testing.T, s aggregate.SnapshotStore) {
	want := valid("account-a", 42)
	want.Type, want.SchemaVersion, want.Data = "Bank.Account/v2 ✓", math.MaxInt32, []byte{0, 1, 2, 0xff, '{'}
	save(t, s, want)
	big := valid("account-b", math.MaxInt64)
	big.Data = nil
	save(t, s, big)
	got, ok := load(t, s, "account-a")
	if !ok || !equal(got, want) {
		t.Fatalf("loaded %+v (found %v), saved %+v", got, ok, want)
	}
	got, ok = load(t, s, "account-b")
	if !ok || got.Version != math.MaxInt64 || got.Data == nil || len(got.Data) != 0 {
		t.Fatalf("snapshot with no data at the highest version: loaded %+v (found %v), data %#v", got, ok, got.Data)
	}
}

// CreatedAt comes back in UTC to the microsecond, whatever zone and
// precision it was given in; a zero one is the time of the save.
func testCreatedAt(t *testing.T, s aggregate.SnapshotStore) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	given := time.Date(2026, 7, 1, 23, 59, 59, 999999999, zone)
	snap := valid("account-t", 1)
	snap.CreatedAt = given
	save(t, s, snap)
	got, _ := load(t, s, "account-t")
	if want := given.UTC().Truncate(time.Microsecond); !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC ||
		got.CreatedAt.Nanosecond()%1000 != 0 {
		t.Fatalf("CreatedAt %v given, %v loaded, want %v in UTC", given, got.CreatedAt, want)
	}
	before := time.Now().UTC().Truncate(time.Microsecond)
	snap = valid("account-z", 1)
	snap.CreatedAt = time.Time{}
	save(t, s, snap)
	after := time.Now().UTC()
	got, _ = load(t, s, "account-z")
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) || got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond()%1000 != 0 {
		t.Fatalf("zero CreatedAt stored as %v, want the save time (between %v and %v) in UTC to the µs", got.CreatedAt, before, after)
	}
}

// An older snapshot never replaces a newer one; one of the same version
// does.
func testNewerWins(t *testing.T, s aggregate.SnapshotStore) {
	save(t, s, valid("account-n", 200))
	save(t, s, valid("account-n", 100))
	if got, _ := load(t, s, "account-n"); got.Version != 200 || string(got.Data) != `{"v":200}` {
		t.Fatalf("after saving v200 then v100: loaded v%d %s", got.Version, got.Data)
	}
	same := valid("account-n", 200)
	same.Data, same.SchemaVersion = []byte(`{"v":"again"}`), 2
	save(t, s, same)
	if got, _ := load(t, s, "account-n"); !equal(got, same) {
		t.Fatalf("a snapshot of the same version did not replace the stored one: %+v", got)
	}
	save(t, s, valid("account-n", 300))
	if got, _ := load(t, s, "account-n"); got.Version != 300 {
		t.Fatalf("a newer snapshot did not replace the stored one: v%d", got.Version)
	}
}

// Every store refuses the same snapshots, with the typed error, and stores
// nothing.
func testInvalid(t *testing.T, s aggregate.SnapshotStore) {
	for _, c := range []struct {
		name, field string
		edit        func(*aggregate.Snapshot)
	}{
		{"empty stream", "Stream", func(s *aggregate.Snapshot) { s.Stream = "" }},
		{"stream with NUL", "Stream", func(s *aggregate.Snapshot) { s.Stream = "account-\x00" }},
		{"stream not UTF-8", "Stream", func(s *aggregate.Snapshot) { s.Stream = "account-\xff" }},
		{"empty type", "Type", func(s *aggregate.Snapshot) { s.Type = "" }},
		{"type with NUL", "Type", func(s *aggregate.Snapshot) { s.Type = "acc\x00ount" }},
		{"type not UTF-8", "Type", func(s *aggregate.Snapshot) { s.Type = "\xc3" }},
		{"version 0", "Version", func(s *aggregate.Snapshot) { s.Version = 0 }},
		{"version past int64", "Version", func(s *aggregate.Snapshot) { s.Version = math.MaxInt64 + 1 }},
		{"schema version 0", "SchemaVersion", func(s *aggregate.Snapshot) { s.SchemaVersion = 0 }},
		{"negative schema version", "SchemaVersion", func(s *aggregate.Snapshot) { s.SchemaVersion = -1 }},
		{"schema version past int32", "SchemaVersion", func(s *aggregate.Snapshot) { s.SchemaVersion = math.MaxInt32 + 1 }},
	} {
		snap := valid("account-bad", 5)
		c.edit(&snap)
		err := s.SaveSnapshot(context.Background(), snap)
		ie, ok := errors.AsType[*aggregate.InvalidSnapshotError](err)
		if !errors.Is(err, aggregate.ErrInvalidSnapshot) || !ok || ie.Field != c.field {
			t.Errorf("%s: SaveSnapshot = %v, want an *InvalidSnapshotError about %s", c.name, err, c.field)
		}
		if snap.Stream != "" {
			if _, found := load(t, s, snap.Stream); found {
				t.Errorf("%s: stored after all", c.name)
			}
		}
	}
	if _, found := load(t, s, "account-bad"); found {
		t.Error("an invalid snapshot was stored")
	}
}

// Changing the bytes given to SaveSnapshot, or those LoadSnapshot
// returned, changes nothing stored.
func testNoSharedMemory(t *testing.T, s aggregate.SnapshotStore) {
	snap := valid("account-m", 3)
	save(t, s, snap)
	snap.Data[0] = 'X'
	got, _ := load(t, s, "account-m")
	if string(got.Data) != `{"v":3}` {
		t.Fatalf("the saved data changed with the caller's buffer: %s", got.Data)
	}
	got.Data[0] = 'Y'
	if again, _ := load(t, s, "account-m"); string(again.Data) != `{"v":3}` {
		t.Fatalf("the stored data changed with a loaded buffer: %s", again.Data)
	}
}

func testCancelled(t *testing.T, s aggregate.SnapshotStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SaveSnapshot(ctx, valid("account-c", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("SaveSnapshot with a cancelled context: %v", err)
	}
	if _, _, err := s.LoadSnapshot(ctx, "account-c"); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadSnapshot with a cancelled context: %v", err)
	}
	if _, found := load(t, s, "account-c"); found {
		t.Error("a save with a cancelled context was stored")
	}
}

// Savers racing on one stream with versions 1..n in any order leave the
// highest.
func testConcurrent(t *testing.T, s aggregate.SnapshotStore) {
	const n = 64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for v := uint64(n - w); v >= 1; v -= 8 {
				if err := s.SaveSnapshot(context.Background(), valid("account-r", v)); err != nil {
					t.Error(err)
					return
				}
				if v <= 8 {
					return
				}
			}
		})
	}
	wg.Wait()
	if got, _ := load(t, s, "account-r"); got.Version != n || string(got.Data) != fmt.Sprintf(`{"v":%d}`, n) {
		t.Fatalf("after racing saves: v%d %s, want v%d", got.Version, got.Data, n)
	}
}
