package main

import (
	"fmt"
	"strings"
)

// workloadDoc explains the workloads for the report, with the run's sizes.
func workloadDoc(s sizes) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Every variant does the same work on the same data. *chronicle* is the PostgreSQL store ")
	p("(`eventstore/postgres`) and the packages above it; *baseline* is hand-written pgx on tables ")
	p("created `LIKE` chronicle's own `INCLUDING ALL` (same columns, identity, constraints, indexes and ")
	p("fill factor) in the same schema, doing only the SQL the task needs; *memory store* is chronicle ")
	p("on `eventstore/memory`, the embedded default. Events are ~110-byte JSON payloads with a correlation ")
	p("and causation ID, IDs set by the caller (as command handlers do).\n\n")
	p("- **Baseline append**: one statement — an `INSERT … ON CONFLICT DO UPDATE … WHERE version = expected` ")
	p("of the stream row (the optimistic concurrency check) and a multi-row insert of the events stamped ")
	p("with `pg_current_xact_id()`. chronicle's append is one call of its `append_events` function: the same ")
	p("row lock and insert plus the idempotency check on a mismatch, the per-stream order guard and the ")
	p("epoch offset, and Go-side validation (`Limits.CheckAppend`) and metadata encoding.\n")
	p("- **W1** %d single-event appends to one stream, `Exact(version)`, one writer.\n", s.appends)
	p("- **W2** %d writers, each %d single-event appends to its own stream.\n", writers, s.writerAppends)
	p("- **W3** %d appends of 10 events to one stream; the unit is events.\n", s.batches)
	p("- **W4** %d writers append to one stream with the version they last saw until each has %d successful appends; ", writers, s.writerAppends)
	p("a loser takes the stream's version from the conflict (chronicle: `ConflictError.Actual`; baseline: ")
	p("the version the statement read, which can be stale and cost one more attempt) and tries again. ")
	p("After the rounds every stream is read back: one event per successful append, versions contiguous, ")
	p("no event ID twice, and (chronicle) positions ascending with versions.\n")
	p("- **W5** load a %d-event aggregate through `aggregate.Repository` (registry decode, Apply per event): ", s.aggregate)
	p("W5a from its events, W5b from a snapshot taken %d events before the end (`aggregate/postgres` ", snapshotTail)
	p("snapshot store) plus those events. The baseline reads the snapshot row and the events with one query ")
	p("each and folds the payloads with `encoding/json`; chronicle pages the stream %d events at a time. ", 500)
	p("Every loaded state is checked.\n")
	p("- **W6** read the first %d events of the global log in order: chronicle's `ReadAll` ", s.readEvents)
	p("(pages of 500, horizon per page); the baseline one query below the horizon ")
	p("`pg_snapshot_xmin(pg_current_snapshot())`. Count and order are checked.\n")
	return b.String()
}
