package main

import (
	"math/rand/v2"
	"testing"
)

// TestRecorderIgnoresWarmUp: the warm-up messages (-warmup) count neither
// as deliveries nor in the latencies.
func TestRecorderIgnoresWarmUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rec := newRecorder(1)
	rec.deliver(0, makePayload(64, warmupIdx, rng))
	rec.deliver(0, makePayload(64, warmupIdx+2, rng))
	if n := len(rec.got[0]); n != 0 {
		t.Fatalf("%d warm-up messages recorded", n)
	}
	rec.deliver(0, makePayload(64, 0, rng))
	if n := rec.count([]int{0}, 1); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	if n := len(rec.got[0]); n != 1 {
		t.Fatalf("%d messages recorded, want 1", n)
	}
}
