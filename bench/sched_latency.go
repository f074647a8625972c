package main

import (
	"fmt"
	"math"
	"runtime/metrics"
)

// How long goroutines waited to run: the Go runtime's histogram of the time
// goroutines spent runnable before they ran (/sched/latencies:seconds).
// A frame crosses several goroutines on its way from one peer's state
// machine to another's (the writer, quic-go's connection loop and send
// queue, the receiving transport's socket reader and connection loop, the
// stream reader, the driver), and on a machine short of CPU it waits at
// each; the drivers' own lag counters see only the last of those waits.

const schedLatencyMetric = "/sched/latencies:seconds"

// schedLatencies is a copy of the histogram's bucket counts.
type schedLatencies struct {
	counts  []uint64
	buckets []float64
}

func readSchedLatencies() schedLatencies {
	s := []metrics.Sample{{Name: schedLatencyMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedLatencies{}
	}
	h := s[0].Value.Float64Histogram()
	return schedLatencies{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// describeSchedLatencies gives the quantiles of the waits recorded between
// from and to (each quantile is its bucket's upper bound).
func describeSchedLatencies(from, to schedLatencies) string {
	if len(to.counts) == 0 || len(from.counts) != len(to.counts) {
		return "goroutine waits: not available"
	}
	d := make([]uint64, len(to.counts))
	var total uint64
	for i := range d {
		d[i] = to.counts[i] - from.counts[i]
		total += d[i]
	}
	if total == 0 {
		return "goroutine waits: none recorded"
	}
	q := func(p float64) string {
		want := uint64(math.Ceil(p * float64(total)))
		var acc uint64
		for i, c := range d {
			acc += c
			if acc >= want {
				return fmtSeconds(to.buckets[i+1])
			}
		}
		return "?"
	}
	return fmt.Sprintf("goroutine waits to run p50 %s, p90 %s, p99 %s", q(0.5), q(0.9), q(0.99))
}

func fmtSeconds(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "inf"
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.1f ms", s*1e3)
	default:
		return fmt.Sprintf("%.0f µs", s*1e6)
	}
}
