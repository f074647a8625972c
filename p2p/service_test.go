package p2p

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The service score on a fake clock: one unserved request makes a member
// unserving, a body it serves or a half-life of quiet makes it serving
// again, penalties are capped, and the table of penalties is bounded.
func TestServiceScore(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newServiceScores()
	s.now = func() time.Time { return now }
	a, b := peer.ID("a"), peer.ID("b")

	if s.bad(a) {
		t.Fatal("a member with no history is unserving")
	}
	s.penalize(a, penaltyUnserved)
	if !s.bad(a) || s.bad(b) {
		t.Fatalf("after one unserved request: a %v, b %v; want true, false", s.bad(a), s.bad(b))
	}
	s.servedBy(a)
	if s.bad(a) {
		t.Fatal("a served a body and is still unserving")
	}

	// Decay: penalty 1 is at the threshold after one half-life.
	s.penalize(b, penaltyUnserved)
	now = now.Add(serviceHalfLife - time.Second)
	if !s.bad(b) {
		t.Fatal("b recovered before a half-life")
	}
	now = now.Add(2 * time.Second)
	if s.bad(b) {
		t.Fatal("b still unserving after a half-life")
	}

	// The cap: a long record of failures still recovers in a few half-lives.
	for i := 0; i < 100; i++ {
		s.penalize(a, penaltyWriteTimeout)
	}
	now = now.Add(3 * serviceHalfLife)
	if !s.bad(a) {
		t.Fatal("a capped penalty recovered too soon")
	}
	now = now.Add(serviceHalfLife + time.Second)
	if s.bad(a) {
		t.Fatalf("a capped penalty did not recover within 4 half-lives")
	}

	// The bound: failures beyond servicePeers members are counted, not
	// scored; penalties that decayed are forgotten to make room.
	s.sweep(now)
	for i := 0; len(s.peers) < servicePeers; i++ {
		s.penalize(peer.ID(fmt.Sprint("p", i)), penaltyUnserved)
	}
	s.penalize("late", penaltyUnserved)
	if s.untracked.Load() != 1 || s.bad("late") {
		t.Fatalf("over the bound: untracked %d, late scored %v", s.untracked.Load(), s.bad("late"))
	}
	now = now.Add(10 * serviceHalfLife)
	s.penalize("late", penaltyUnserved)
	if !s.bad("late") || len(s.peers) > 3 {
		t.Fatalf("after the decay: late scored %v, %d penalties remembered", s.bad("late"), len(s.peers))
	}
	var st ServiceStats
	s.snapshot(&st)
	if st.Scored != 1 || st.Tracked != len(s.peers) || st.Served != 1 {
		t.Fatalf("snapshot %+v", st)
	}
}
