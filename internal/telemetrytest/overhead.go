package telemetrytest

import (
	"runtime/metrics"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Overhead measures what chronicle's instrumentation costs op, paired in
// one run: it runs op b.N times in alternating blocks of block operations,
// with the instrumentation switched off ([telemetry.SetOff]) and on, so
// both see the same machine, the same heap and the same data. It reports
// the time and the heap allocations per operation of each ("off-ns/op",
// "on-ns/op", "off-allocs/op", "on-allocs/op") and the time overhead in
// percent ("overhead-%"). op gets the index of the operation.
//
// What "on" measures depends on the providers the caller installed: none
// (the global no-ops), or an SDK recording every span.
func Overhead(b *testing.B, block int, op func(i int)) {
	b.Helper()
	defer telemetry.SetOff(false)
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	allocs := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var spent [2]time.Duration
	var objects [2]uint64
	var ops [2]int
	b.ResetTimer()
	for i := 0; i < b.N; {
		mode := (i / block) % 2 // 0: off, 1: on
		n := min(block, b.N-i)
		telemetry.SetOff(mode == 0)
		a := allocs()
		start := time.Now()
		for j := range n {
			op(i + j)
		}
		spent[mode] += time.Since(start)
		objects[mode] += allocs() - a
		ops[mode] += n
		i += n
	}
	b.StopTimer()
	if ops[0] == 0 || ops[1] == 0 {
		return // too few operations to pair: b.N is still being sized
	}
	off := float64(spent[0].Nanoseconds()) / float64(ops[0])
	on := float64(spent[1].Nanoseconds()) / float64(ops[1])
	b.ReportMetric(off, "off-ns/op")
	b.ReportMetric(on, "on-ns/op")
	b.ReportMetric(float64(objects[0])/float64(ops[0]), "off-allocs/op")
	b.ReportMetric(float64(objects[1])/float64(ops[1]), "on-allocs/op")
	b.ReportMetric(100*(on-off)/off, "overhead-%")
}
