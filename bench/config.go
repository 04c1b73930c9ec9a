package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// Config is one run of the harness. The zero value is not useful: start
// from [defaultConfig] (what the flags default to) and change fields.
type Config struct {
	// PostgresURL is the server to measure on.
	PostgresURL string
	// Schema is the schema the run creates and works in; it must not exist
	// yet, or exist empty (the run then leaves it in place at the end).
	// Default: bench_<random>.
	Schema string
	// Keep leaves the schema (and its tables) in place after the run.
	Keep bool
	// Quick sizes every workload to finish in seconds: a smoke test, not a
	// measurement.
	Quick bool
	// Workloads lists the workloads to run (W1 … W9); empty means all.
	Workloads []string
	// Runs is the number of rounds; each round runs chronicle and the
	// baseline back to back, alternating which goes first.
	Runs int
	// Events is the size of W7's log (events replayed into the read model).
	// Zero means the mode's default.
	Events int
	// Out is the Markdown report to write; empty means none. The full mode
	// defaults to docs/benchmarks.md, the quick mode to none.
	Out string
	// CPUProfile and MemProfile, when set, receive pprof profiles of the
	// whole run, setup included (CPU), and of allocations at the end of it.
	CPUProfile string
	MemProfile string
	// Note is free text recorded under the machine's description (say,
	// that the machine was shared during the run).
	Note string
	// Command is the command line, recorded in the report.
	Command string
}

// defaultConfig is what the flags default to.
func defaultConfig() Config {
	return Config{
		PostgresURL: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		Runs:        5,
	}
}

var allWorkloads = []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"}

// parseFlags reads the command line into a Config.
func parseFlags(args []string) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.PostgresURL, "postgres", cfg.PostgresURL, "PostgreSQL URL to measure on")
	fs.StringVar(&cfg.Schema, "schema", "", "schema to create and work in (default bench_<random>); dropped at the end unless -keep")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the schema and its tables after the run")
	fs.BoolVar(&cfg.Quick, "quick", false, "small sizes that finish in seconds (a smoke test); writes no report unless -out is given")
	workloads := fs.String("workloads", "", "comma-separated workloads to run, e.g. W1,W3 (default all)")
	fs.IntVar(&cfg.Runs, "runs", 0, "rounds per workload, chronicle and baseline interleaved (default 5, or 2 with -quick)")
	fs.IntVar(&cfg.Events, "events", 0, "events in W7's log (default 1000000, or 2000 with -quick)")
	out := fs.String("out", "", "Markdown report to write (default docs/benchmarks.md, none with -quick)")
	fs.StringVar(&cfg.Note, "note", "", "free text recorded in the report under the machine (e.g. that it was shared)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (setup included) to this file; narrow it with -workloads")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write an allocation profile to this file at the end")
	if err := fs.Parse(args); err != nil {
		return Config{}, errReported{err} // the flag package has said why, with the usage
	}
	if cfg.Runs == 0 {
		cfg.Runs = 5
		if cfg.Quick {
			cfg.Runs = 2
		}
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if *workloads != "" {
		for w := range strings.SplitSeq(*workloads, ",") {
			cfg.Workloads = append(cfg.Workloads, strings.ToUpper(strings.TrimSpace(w)))
		}
	}
	cfg.Out = *out
	if cfg.Out == "" && !cfg.Quick {
		cfg.Out = "docs/benchmarks.md"
	}
	return cfg, cfg.Validate()
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.PostgresURL == "" {
		errs = append(errs, errors.New("bench: -postgres is empty"))
	}
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, fmt.Errorf("bench: -schema: %w", err))
		}
	}
	if c.Runs < 1 {
		errs = append(errs, fmt.Errorf("bench: -runs is %d, want 1 or more", c.Runs))
	}
	if c.Events < 0 {
		errs = append(errs, fmt.Errorf("bench: -events is %d, want 0 (the default) or more", c.Events))
	}
	for _, w := range c.Workloads {
		if !slices.Contains(allWorkloads, w) {
			errs = append(errs, fmt.Errorf("bench: -workloads: unknown workload %q (known: %s)", w, strings.Join(allWorkloads, ",")))
		}
	}
	return errors.Join(errs...)
}

// selected reports whether workload id is to run.
func (c Config) selected(id string) bool {
	return len(c.Workloads) == 0 || slices.Contains(c.Workloads, id)
}

// sizes are the workload sizes of a mode.
type sizes struct {
	appends       int // W1: appends per round
	writerAppends int // W2: appends per writer per round
	racing        int // W4: successful appends per writer per round
	batches       int // W3: 10-event appends per round
	loads         int // W5: loads per round and case
	aggregate     int // W5: events in the aggregate
	readEvents    int // W6: events read per round
	rebuildEvents int // W7: events in the log
	sagas         int // W8: sagas per round
	importEvents  int // W9: events per batch
	timeout       time.Duration
}

func (c Config) sizes() sizes {
	if c.Quick {
		return sizes{appends: 20, writerAppends: 4, racing: 4, batches: 5, loads: 1, aggregate: 1_000,
			readEvents: 1_000, rebuildEvents: orDefault(c.Events, 2_000), sagas: 8, importEvents: 1_000, timeout: 5 * time.Minute}
	}
	return sizes{appends: 2_000, writerAppends: 500, racing: 50, batches: 1_000, loads: 5, aggregate: 10_000,
		readEvents: 100_000, rebuildEvents: orDefault(c.Events, 1_000_000), sagas: 300, importEvents: 100_000, timeout: 2 * time.Hour}
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// errReported is a flag error the flag package has already printed.
type errReported struct{ error }

func (e errReported) Unwrap() error { return e.error }
