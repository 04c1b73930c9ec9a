package scenario

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/projection"

	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
)

// ReplayReport proves that the read models are a function of the log: the
// checksums of the live read models, of the same read models rebuilt from
// the log, and of in-memory read models built from the log from scratch.
type ReplayReport struct {
	Backend string
	// Live, Rebuilt and Memory map each table of [readmodel.Tables] to its
	// checksum.
	Live, Rebuilt, Memory map[string]string
	// Events is how many events the rebuild replayed (all projections);
	// Elapsed how long it took.
	Events  uint64
	Elapsed time.Duration
	// LiveRows and MemoryRows list, per table, rows of the live read model
	// and of the in-memory one that differ from the rebuilt one's (see
	// [readmodel.Snapshot.Diff]): where a DIFF comes from.
	LiveRows, MemoryRows map[string][]string
}

// OK reports whether the three sets of checksums are identical.
func (r *ReplayReport) OK() bool {
	for _, t := range readmodel.Tables {
		if r.Live[t] == "" || r.Live[t] != r.Rebuilt[t] || r.Live[t] != r.Memory[t] {
			return false
		}
	}
	return true
}

// Print writes the checksums side by side.
func (r *ReplayReport) Print(w io.Writer, timing bool) {
	fmt.Fprintf(w, "\nreplay: every read model rebuilt from the %s event log\n", r.Backend)
	fmt.Fprintf(w, "       %-22s %-18s %-18s %s\n", "table", "live", "rebuilt", "in memory, from the log")
	for _, t := range readmodel.Tables {
		mark := "ok  "
		if r.Live[t] != r.Rebuilt[t] || r.Live[t] != r.Memory[t] {
			mark = "DIFF"
		}
		fmt.Fprintf(w, "  %s %-22s %-18s %-18s %s\n", mark, t, r.Live[t], r.Rebuilt[t], r.Memory[t])
		for _, l := range r.LiveRows[t] {
			fmt.Fprintf(w, "         live | rebuilt       %s\n", l)
		}
		for _, l := range r.MemoryRows[t] {
			fmt.Fprintf(w, "         in memory | rebuilt  %s\n", l)
		}
	}
	if timing {
		fmt.Fprintf(w, "  rebuild: %d events handled in %s (%.0f events/s), summed over the %d read models: each reads only "+
			"the event types it handles, so an event two of them handle counts twice and the sum differs from the log's length\n",
			r.Events, r.Elapsed.Round(time.Millisecond), float64(r.Events)/max(r.Elapsed.Seconds(), 1e-3), len(readmodel.Tables))
	}
	if r.OK() {
		fmt.Fprintln(w, "  the rebuilt read models are identical to the live ones")
	} else {
		fmt.Fprintln(w, "  REPLAY MISMATCH")
	}
}

// Replay catches the live read models up with the log, takes their
// checksums, rebuilds every one of them from the whole log (reset, then
// replay), takes the checksums again, and builds in-memory read models from
// the same log for a third set. Run it while no one appends: checksums of a
// moving log differ.
func Replay(ctx context.Context, events eventstore.Store, registry *eventstore.Registry, live readmodel.Store, backend string, progress io.Writer) (*ReplayReport, error) {
	r := &ReplayReport{Backend: backend}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = live.Run(rctx) }()
	defer func() { stop(); <-done }()
	snap, err := settledSnapshot(ctx, live)
	if err != nil {
		return nil, err
	}
	r.Live = snap.Checksums()
	liveSnap := snap

	start := time.Now()
	var replayed uint64
	err = live.Rebuild(ctx, func(p projection.Progress) {
		if p.Done {
			replayed += p.Events
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rrebuilding %-22s %8d events %8.0f events/s\033[K", p.Projection, p.Events, p.Rate)
			if p.Done {
				fmt.Fprint(progress, "\r\033[K")
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("scenario: rebuild: %w", err)
	}
	r.Events, r.Elapsed = replayed, time.Since(start)
	if snap, err = settledSnapshot(ctx, live); err != nil {
		return nil, err
	}
	r.Rebuilt = snap.Checksums()
	rebuiltSnap := snap

	mem, err := readmodel.NewMemory(events, registry, projection.Config{})
	if err != nil {
		return nil, err
	}
	mctx, mstop := context.WithCancel(ctx)
	mdone := make(chan struct{})
	go func() { defer close(mdone); _ = mem.Run(mctx) }()
	snap, err = settledSnapshot(ctx, mem)
	mstop()
	<-mdone
	if err != nil {
		return nil, err
	}
	r.Memory = snap.Checksums()
	r.LiveRows, r.MemoryRows = liveSnap.Diff(rebuiltSnap, 5), snap.Diff(rebuiltSnap, 5)
	return r, nil
}

// settledSnapshot waits for s to catch up with the log, then reads it.
func settledSnapshot(ctx context.Context, s readmodel.Store) (readmodel.Snapshot, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := readmodel.CaughtUp(ctx, s)
		if err != nil {
			return readmodel.Snapshot{}, err
		}
		if ok {
			return s.Snapshot(ctx)
		}
		select {
		case <-ctx.Done():
			return readmodel.Snapshot{}, ctx.Err()
		case <-t.C:
		}
	}
}

// ReplayBackend replays the log of b (left by an earlier run, on
// PostgreSQL) into its read models; see [Replay].
func ReplayBackend(ctx context.Context, b Backend, progress io.Writer) (*ReplayReport, error) {
	events, _ := Registries()
	live, err := b.ReadModels(events, projection.Config{PollInterval: 100 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	return Replay(ctx, b.Events, events, live, b.Name, progress)
}
