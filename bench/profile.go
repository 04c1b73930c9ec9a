package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiler writes the profiles the flags ask for: a CPU profile of the
// whole run (setup included) and, at the end, an allocation profile
// (inspect with `go tool pprof -sample_index=alloc_space`).
type profiler struct {
	cpu     *os.File
	memPath string
}

func startProfiles(cpuPath, memPath string) (*profiler, error) {
	p := &profiler{memPath: memPath}
	if memPath != "" {
		// Record every allocation site with its usual sampling rate; the
		// allocation profile covers the whole run.
		runtime.MemProfileRate = 512 * 1024
	}
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, fmt.Errorf("bench: -cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("bench: -cpuprofile: %w", err)
		}
		p.cpu = f
	}
	return p, nil
}

// stop ends the CPU profile and writes the allocation profile.
func (p *profiler) stop() error {
	if p.cpu != nil {
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			return fmt.Errorf("bench: -cpuprofile: %w", err)
		}
	}
	if p.memPath != "" {
		f, err := os.Create(p.memPath)
		if err != nil {
			return fmt.Errorf("bench: -memprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return fmt.Errorf("bench: -memprofile: %w", err)
		}
	}
	return nil
}
