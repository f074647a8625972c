package schedwait

import (
	"math"
	"runtime/metrics"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	b := []float64{0, 1e-6, 1e-3, 0.2, 1}
	from := Reading{Counts: []uint64{1, 1, 1, 1}, Buckets: b}
	to := Reading{Counts: []uint64{1 + 900, 1 + 89, 1 + 10, 1 + 1}, Buckets: b}
	if got, n := Quantile(from, to, 0.99); got != 200*time.Millisecond || n != 1000 {
		t.Fatalf("p99 %v of %d, want 200ms of 1000", got, n)
	}
	if got, _ := Quantile(from, to, 0.5); got != time.Microsecond {
		t.Fatalf("p50 %v, want 1µs", got)
	}
	// The last bucket is open-ended: its lower bound.
	inf := Reading{Counts: []uint64{0, 0, 300}, Buckets: []float64{0, 1e-3, 0.5, math.Inf(1)}}
	if got, _ := Quantile(Reading{Counts: []uint64{0, 0, 0}}, inf, 0.99); got != 500*time.Millisecond {
		t.Fatalf("p99 in the open bucket: %v, want 500ms", got)
	}
	if got, n := Quantile(from, from, 0.99); got != 0 || n != 0 {
		t.Fatalf("no waits: %v, %d", got, n)
	}
	if got, n := Quantile(Reading{}, to, 0.99); got != 0 || n != 0 {
		t.Fatalf("mismatched readings: %v, %d", got, n)
	}
}

func TestReadTheRuntime(t *testing.T) {
	var s []metrics.Sample
	var r Reading
	if !Read(&s, &r) || len(r.Counts) == 0 || len(r.Buckets) != len(r.Counts)+1 {
		t.Fatalf("the runtime's histogram not read: %d counts, %d bounds", len(r.Counts), len(r.Buckets))
	}
}
