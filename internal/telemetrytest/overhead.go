package telemetrytest

import (
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Overhead measures what chronicle's instrumentation costs op, paired in
// one run: it runs op b.N times in alternating blocks of block operations,
// with the instrumentation switched off ([telemetry.SetOff]) and on, so
// both see the same machine, the same heap and the same data. It reports
// per operation, for each mode, the wall-clock time ("off-ns/op",
// "on-ns/op"), the process's CPU time ("off-cpu-ns/op", "on-cpu-ns/op",
// where the system has it: background work such as a span exporter's
// counts too) and the heap allocations ("off-allocs/op", "on-allocs/op");
// and the overhead in percent: "overhead-%", the median over pairs of
// neighbouring blocks of on/off-1 in wall-clock time (a burst of another
// process's load spoils a pair or two, not the median), and
// "cpu-overhead-%". op gets the index of the operation.
//
// What "on" measures depends on the providers the caller installed: none
// (the global no-ops), or an SDK.
func Overhead(b *testing.B, block int, op func(i int)) {
	b.Helper()
	defer telemetry.SetOff(false)
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	allocs := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var spent, cpu [2]time.Duration
	var objects [2]uint64
	var ops [2]int
	var ratios []float64
	var last [2]float64 // ns/op of the latest block of each mode
	cpuOK := true
	b.ResetTimer()
	for i, k := 0, 0; i < b.N; k++ {
		mode := k % 2 // 0: off, 1: on
		n := min(block, b.N-i)
		telemetry.SetOff(mode == 0)
		a := allocs()
		c0, ok0 := cpuTime()
		start := time.Now()
		for j := range n {
			op(i + j)
		}
		d := time.Since(start)
		c1, ok1 := cpuTime()
		cpuOK = cpuOK && ok0 && ok1
		spent[mode] += d
		cpu[mode] += c1 - c0
		objects[mode] += allocs() - a
		ops[mode] += n
		last[mode] = float64(d.Nanoseconds()) / float64(n)
		if mode == 1 && n == block {
			ratios = append(ratios, last[1]/last[0]-1)
		}
		i += n
	}
	b.StopTimer()
	if ops[0] == 0 || ops[1] == 0 || len(ratios) == 0 {
		return // too few operations to pair: b.N is still being sized
	}
	per := func(d time.Duration, mode int) float64 { return float64(d.Nanoseconds()) / float64(ops[mode]) }
	b.ReportMetric(per(spent[0], 0), "off-ns/op")
	b.ReportMetric(per(spent[1], 1), "on-ns/op")
	b.ReportMetric(float64(objects[0])/float64(ops[0]), "off-allocs/op")
	b.ReportMetric(float64(objects[1])/float64(ops[1]), "on-allocs/op")
	slices.Sort(ratios)
	b.ReportMetric(100*ratios[len(ratios)/2], "overhead-%")
	if cpuOK {
		b.ReportMetric(per(cpu[0], 0), "off-cpu-ns/op")
		b.ReportMetric(per(cpu[1], 1), "on-cpu-ns/op")
		b.ReportMetric(100*(per(cpu[1], 1)/per(cpu[0], 0)-1), "cpu-overhead-%")
	}
}
