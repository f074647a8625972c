// Package schedwait reads the Go runtime's distribution of how long
// runnable goroutines waited to run (/sched/latencies:seconds): p2p's
// starvation sampler and bench's reports both take quantiles of the waits
// counted between two readings.
package schedwait

import (
	"math"
	"runtime/metrics"
	"time"
)

// Metric is the runtime metric read.
const Metric = "/sched/latencies:seconds"

// Reading is a copy of the histogram's bucket counts and bounds.
type Reading struct {
	Counts  []uint64
	Buckets []float64 // len(Counts)+1 bounds, in seconds
}

// Read reads the histogram into sample (allocated on first use, reused
// after: the runtime keeps its storage) and copies its counts into
// dst.Counts; it reports false where the runtime has no such histogram.
func Read(sample *[]metrics.Sample, dst *Reading) bool {
	if *sample == nil {
		*sample = []metrics.Sample{{Name: Metric}}
	}
	metrics.Read(*sample)
	v := (*sample)[0].Value
	if v.Kind() != metrics.KindFloat64Histogram {
		return false
	}
	h := v.Float64Histogram()
	dst.Counts = append(dst.Counts[:0], h.Counts...)
	dst.Buckets = h.Buckets
	return true
}

// Quantile returns the q quantile of the waits counted between from and
// to (readings of one histogram), as the upper bound of the bucket it
// falls in (the lower bound for the open-ended last bucket), and how many
// waits were counted. It returns 0, 0 when the readings do not match.
func Quantile(from, to Reading, q float64) (time.Duration, uint64) {
	if len(to.Counts) == 0 || len(from.Counts) != len(to.Counts) || len(to.Buckets) != len(to.Counts)+1 {
		return 0, 0
	}
	var total uint64
	for i := range to.Counts {
		total += to.Counts[i] - from.Counts[i]
	}
	if total == 0 {
		return 0, 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var acc uint64
	for i := range to.Counts {
		acc += to.Counts[i] - from.Counts[i]
		if acc >= want {
			hi := to.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = to.Buckets[i]
			}
			return time.Duration(hi * float64(time.Second)), total
		}
	}
	return 0, total
}
