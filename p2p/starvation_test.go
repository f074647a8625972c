package p2p

import (
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/internal/schedwait"
)

// TestStarvation99: the 99th percentile of the waits between two
// readings, and nothing from a sample too small to mean anything.
func TestStarvation99(t *testing.T) {
	b := []float64{0, 1e-6, 1e-3, 0.2, 1}
	from := schedwait.Reading{Counts: []uint64{1, 1, 1, 1}, Buckets: b}
	to := schedwait.Reading{Counts: []uint64{1 + 900, 1 + 89, 1 + 10, 1 + 1}, Buckets: b}
	if got := starvation99(from, to); got != 200*time.Millisecond {
		t.Fatalf("p99 %v, want 200ms", got)
	}
	few := schedwait.Reading{Counts: []uint64{2, 50, 50, 90}, Buckets: b}
	if got := starvation99(from, few); got != 0 {
		t.Fatalf("p99 of %d waits: %v, want 0", 188, got)
	}
}

// TestStarvationReportedAsLag: while the process's goroutines wait a tick
// or more to run, each peer's driver tells membership it runs behind (its
// local health rises) when WithStarvationLag is on, and not by default.
func TestStarvationReportedAsLag(t *testing.T) {
	ps := startPeers(t, 2, false, WithStarvationLag(true))
	off := startPeers(t, 1, false)[0]
	s := &processStarvation
	starve := func() {
		s.mu.Lock()
		s.at = time.Now().Add(time.Hour) // no renewal while the test holds the figure
		s.p99.Store(int64(time.Second))
		s.mu.Unlock()
	}
	starve()
	defer func() {
		s.mu.Lock()
		s.at = time.Time{}
		s.p99.Store(0)
		s.mu.Unlock()
	}()
	waitFor(t, 10*time.Second, "starvation reported", func() bool {
		st := ps[0].Stats()
		return st.Lag.Starved > 0 && st.Lag.StarvedMax == time.Second && st.Membership.LagReports > 0
	})
	if st := off.Stats(); st.Lag.Starved != 0 {
		t.Fatalf("reported %d times without WithStarvationLag", st.Lag.Starved)
	}
	// A process that is not starved reports nothing.
	s.mu.Lock()
	s.p99.Store(int64(time.Millisecond))
	s.mu.Unlock()
	n := ps[1].Stats().Lag.Starved
	time.Sleep(500 * time.Millisecond)
	if m := ps[1].Stats().Lag.Starved; m != n {
		t.Fatalf("%d reports while goroutines waited 1 ms", m-n)
	}
}

// TestStarvationSamplerReadsTheRuntime: the sampler reads the runtime's
// histogram and renews its figure at most every starvationEvery.
func TestStarvationSamplerReadsTheRuntime(t *testing.T) {
	var s starvationSampler
	now := time.Now()
	s.recent(now)
	if len(s.prev.Counts) == 0 {
		t.Fatal("the runtime's histogram was not read")
	}
	at := s.at
	s.recent(now.Add(starvationEvery / 2))
	if s.at != at {
		t.Fatal("renewed before starvationEvery")
	}
	s.recent(now.Add(starvationEvery))
	if s.at == at {
		t.Fatal("not renewed after starvationEvery")
	}
}

// TestAnswerWaitFollowsStarvation: the driver's answer timer waits
// treeAckWait, plus the process's goroutine waits while they reach a tick
// and WithStarvationLag is on.
func TestAnswerWaitFollowsStarvation(t *testing.T) {
	s := &processStarvation
	set := func(d time.Duration) {
		s.mu.Lock()
		s.at = time.Now().Add(time.Hour)
		s.p99.Store(int64(d))
		s.mu.Unlock()
	}
	defer func() {
		s.mu.Lock()
		s.at = time.Time{}
		s.p99.Store(0)
		s.mu.Unlock()
	}()
	on := &Peer{s: defaults()}
	on.s.starvationLag = true
	off := &Peer{s: defaults()}
	base := treeAckWait(on.s.profile)
	now := time.Now()
	set(300 * time.Millisecond)
	if w := on.answerWait(now); w != base+300*time.Millisecond {
		t.Fatalf("starved, on: %v, want %v", w, base+300*time.Millisecond)
	}
	if w := off.answerWait(now); w != base {
		t.Fatalf("starved, off: %v, want %v", w, base)
	}
	set(on.s.tick / 2)
	if w := on.answerWait(now); w != base {
		t.Fatalf("waits under a tick, on: %v, want %v", w, base)
	}
}
