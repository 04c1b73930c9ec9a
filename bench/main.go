// Command bench measures chronicle against raw-pgx baselines doing the same
// SQL work on same-shaped tables, and writes docs/benchmarks.md.
//
//	go run ./bench -postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./bench -quick                       # seconds; a smoke test, writes nothing
//	go run ./bench -workloads W1,W4 -runs 3 -out /tmp/b.md
//	go run ./bench -workloads W6 -cpuprofile cpu.out -memprofile mem.out
//
// # Workloads
//
// W1 single-event appends, one writer; W2 eight writers on distinct
// streams; W3 10-event appends; W4 eight writers racing on one stream
// (appends/s, conflicts/s and a contiguity check); W5 loading a 10,000-event
// aggregate without and with a snapshot; W6 reading the global log; W7
// rebuilding a three-table read model; W8 sagas end to end; W9 a bulk import.
//
// Each workload runs on four variants: chronicle on PostgreSQL, a raw-pgx
// baseline doing the same SQL work on tables of the same shape (the cost
// floor of that work on this PostgreSQL), "raw pgx": what a team writes by
// hand without a framework, on its own simpler table (the shape issue 21's
// targets are stated against; see rawpgx.go), and chronicle's memory store.
// The chronicle, baseline and raw pgx rounds are interleaved, rotating which
// goes first; the report gives medians, min–max and chronicle's cost over
// the baseline's and over raw pgx's.
//
// # Schema
//
// Each run creates its own schema (bench_<random>, or -schema), migrates
// chronicle's tables into it, creates the baseline tables beside them and
// drops it at the end unless -keep.
//
// # Correctness
//
// The harness is also a smoke test: W4 checks that every stream is
// contiguous with one event per successful append, W5 checks every loaded
// state, W6 the count and order of the log, W7 that the read model rebuilt
// by chronicle equals the baseline's and the expected one, W8 that every
// saga completed. A failed check fails the run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // asked for: the flag package printed the usage
	}
	if err != nil {
		if _, reported := err.(errReported); !reported {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
	cfg.Command = commandLine(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the selected workloads and writes the report (if cfg.Out is
// set); progress and the results table go to out.
func run(ctx context.Context, cfg Config, out io.Writer) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sz := cfg.sizes()
	ctx, cancel := context.WithTimeout(ctx, sz.timeout)
	defer cancel()
	started := time.Now()
	machine := readMachine()

	prof, err := startProfiles(cfg.CPUProfile, cfg.MemProfile)
	if err != nil {
		return err
	}
	defer func() {
		if perr := prof.stop(); err == nil {
			err = perr
		}
	}()

	e, err := openEnv(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.close(context.WithoutCancel(ctx)); err == nil {
			err = cerr
		}
	}()
	pg, err := readPostgres(ctx, e.pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: schema %s, %d runs, %s mode; %s\n", e.schema, cfg.Runs, mode(cfg), pg.version)
	progress := func(s string) { fmt.Fprintln(out, "  "+s) }
	e.progress = progress

	var results []result
	for _, w := range workloads() {
		if !cfg.selected(w.id) {
			continue
		}
		fmt.Fprintf(out, "%s: %s\n", w.id, w.title(sz))
		setup := time.Now()
		cases, err := w.build(ctx, e)
		if err != nil {
			return fmt.Errorf("%s setup: %w", w.id, err)
		}
		fmt.Fprintf(out, "  setup %v\n", time.Since(setup).Round(time.Millisecond))
		for _, c := range cases {
			r, err := measure(ctx, c, cfg.Runs, !cfg.Quick, progress)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	rep := report{cfg: cfg, sizes: sz, machine: machine, pg: pg, results: results,
		started: started, took: time.Since(started), loadEnd: readLoad()}
	fmt.Fprintln(out)
	fmt.Fprint(out, rep.table())
	if cfg.Out != "" {
		if err := rep.write(cfg.Out); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nwrote %s\n", cfg.Out)
	}
	return nil
}

func mode(cfg Config) string {
	if cfg.Quick {
		return "quick"
	}
	return "full"
}

// commandLine is the command that reproduces the run, with any password in
// the PostgreSQL URL left out.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./bench"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-postgres" || a == "--postgres") && i+1 < len(args):
			parts = append(parts, a, shellQuote(redactURL(args[i+1])))
			i++
		case strings.HasPrefix(a, "-postgres=") || strings.HasPrefix(a, "--postgres="):
			k, v, _ := strings.Cut(a, "=")
			parts = append(parts, k+"="+shellQuote(redactURL(v)))
		default:
			parts = append(parts, shellQuote(a))
		}
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$&;|<>()*?![]{}`\\") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
