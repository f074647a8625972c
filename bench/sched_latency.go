package main

import (
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/grapevine-p2p/grapevine/internal/schedwait"
)

// How long goroutines waited to run: the Go runtime's histogram of the time
// goroutines spent runnable before they ran (/sched/latencies:seconds).
// A frame crosses several goroutines on its way from one peer's state
// machine to another's (the writer, quic-go's connection loop and send
// queue, the receiving transport's socket reader and connection loop, the
// stream reader, the driver), and on a machine short of CPU it waits at
// each; the drivers' own lag counters see only the last of those waits.

type schedLatencies = schedwait.Reading

func readSchedLatencies() schedLatencies {
	var s []metrics.Sample
	var r schedLatencies
	if !schedwait.Read(&s, &r) {
		return schedLatencies{}
	}
	return r
}

// describeSchedLatencies gives the quantiles of the waits recorded between
// from and to (each quantile is its bucket's upper bound).
func describeSchedLatencies(from, to schedLatencies) string {
	if len(to.Counts) == 0 || len(from.Counts) != len(to.Counts) {
		return "goroutine waits: not available"
	}
	p50, n := schedwait.Quantile(from, to, 0.5)
	if n == 0 {
		return "goroutine waits: none recorded"
	}
	p90, _ := schedwait.Quantile(from, to, 0.9)
	p99, _ := schedwait.Quantile(from, to, 0.99)
	return fmt.Sprintf("goroutine waits to run p50 %s, p90 %s, p99 %s", fmtWait(p50), fmtWait(p90), fmtWait(p99))
}

func fmtWait(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}
