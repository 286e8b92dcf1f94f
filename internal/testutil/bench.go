package testutil

import (
	"slices"
	"testing"
	"time"
)

// LoopMedian runs f in b.Loop, timing each call, and reports the median call as the metric "µs/med": on
// shared machines a mean is swayed by the odd preempted call, a median is not.
func LoopMedian(b *testing.B, f func()) {
	var times []time.Duration
	for b.Loop() {
		t := time.Now()
		f()
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "µs/med")
}
