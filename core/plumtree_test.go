package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// nbrSampler is a PeerSampler and NeighborLister over a fixed neighbour
// list (an overlay's active view).
type nbrSampler struct {
	peers []NodeID
	rng   *rand.Rand
	ver   uint64
}

func (s *nbrSampler) Sample(dst []NodeID, k int) []NodeID {
	return SampleDistinct(dst, k, len(s.peers), s.rng, func(i int) NodeID { return s.peers[i] })
}
func (s *nbrSampler) Size() int                             { return 100 }
func (s *nbrSampler) NeighborsVersion() uint64              { return s.ver }
func (s *nbrSampler) AppendNeighbors(dst []NodeID) []NodeID { return append(dst, s.peers...) }
func (s *nbrSampler) has(id NodeID) bool { return slices.Contains(s.peers, id) }
func (s *nbrSampler) add(id NodeID)      { s.peers = append(s.peers, id); s.ver++ }
func (s *nbrSampler) appendUnique(id NodeID) {
	if !s.has(id) {
		s.add(id)
	}
}

// plumNet builds n engines with Plumtree over the union of three random
// Hamiltonian cycles (degree at most 6, connected), in the p2p profile's
// repair settings: rounds announce (LazyThreshold 1) after IWantDelay 1.
func plumNet(t *testing.T, n int, seed uint64, eagerMin int) (*testNet, []*nbrSampler) {
	samplers := make([]*nbrSampler, n)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range samplers {
		samplers[i] = &nbrSampler{rng: rand.New(rand.NewPCG(seed, uint64(i)+1000))}
	}
	for c := 0; c < 3; c++ {
		perm := rng.Perm(n)
		for j := range perm {
			a, b := perm[j], perm[(j+1)%n]
			samplers[a].appendUnique(nodeName(b))
			samplers[b].appendUnique(nodeName(a))
		}
	}
	tn := newTestNet(t, n, seed, func(i int, c *Config) {
		c.Sampler = samplers[i]
		c.Plumtree = true
		c.EagerMin = eagerMin
		c.LazyThreshold = 1
		c.IWantDelay = 1
		c.Rounds = 1
		c.Mode = PushPull
	})
	return tn, samplers
}

func bodiesSent(tn *testNet) uint64 {
	var s uint64
	for _, e := range tn.nodes {
		s += e.Stats().MessagesSent
	}
	return s
}

// The first messages flood the eager links; duplicates prune them until
// each member receives about one body per message, and every member
// still receives every message exactly once.
func TestPlumtreePrunesToAboutOneCopy(t *testing.T) {
	const n, msgs = 60, 30
	for seed := uint64(1); seed <= 3; seed++ {
		tn, _ := plumNet(t, n, seed, 0)
		var last uint64
		for i := 0; i < msgs; i++ {
			before := bodiesSent(tn)
			m := tn.publish((i*7)%n, "t", []byte(fmt.Sprint(i)))
			if r := tn.runUntil(m.Key(), 20); r > 20 {
				t.Fatalf("seed %d: message %d reached %d of %d", seed, i, tn.have(m.Key()), n)
			}
			if i == msgs-1 {
				last = bodiesSent(tn) - before
			}
		}
		for i, a := range tn.apps {
			if len(a.got) != msgs {
				t.Errorf("seed %d: node %d delivered %d messages, want %d once each", seed, i, len(a.got), msgs)
			}
		}
		var prunes uint64
		for _, e := range tn.nodes {
			prunes += e.Stats().PrunesSent
		}
		perMember := float64(last) / float64(n-1)
		t.Logf("seed %d: %d prunes; last message: %.2f bodies per member", seed, prunes, perMember)
		if prunes == 0 || perMember > 1.5 {
			t.Errorf("seed %d: last message cost %.2f bodies per member (%d prunes), want at most 1.5", seed, perMember, prunes)
		}
	}
}

// A tree cut by a crashed member is mended: the members below it learn of
// the message from announcements, fetch it with IWANT and graft the link.
func TestPlumtreeRepairsAroundCrash(t *testing.T) {
	const n = 60
	tn, _ := plumNet(t, n, 5, 0)
	for i := 0; i < 20; i++ { // let the eager links shrink to a tree
		m := tn.publish(i%n, "t", []byte(fmt.Sprint(i)))
		tn.runUntil(m.Key(), 20)
	}
	// Crash the member that forwarded the most bodies (an interior node
	// of the tree); its neighbours keep it in their view, as an overlay
	// would until its keepalive fails.
	worst, most := 0, uint64(0)
	for i, e := range tn.nodes {
		if s := e.Stats().EagerSent; i != 0 && s > most {
			worst, most = i, s
		}
	}
	tn.down[worst] = true
	var grafts0 uint64
	for _, e := range tn.nodes {
		grafts0 += e.Stats().Grafts
	}
	m := tn.publish(0, "t", []byte("after"))
	if r := tn.runUntil(m.Key(), 30); r > 30 {
		t.Fatalf("after the crash the message reached %d of %d", tn.have(m.Key()), tn.live())
	}
	var grafts uint64
	for _, e := range tn.nodes {
		grafts += e.Stats().Grafts
	}
	if grafts == grafts0 {
		t.Errorf("no link grafted while repairing around the crashed member %d", worst)
	}
}

// EagerMin keeps links eager: more copies, fewer prunes.
func TestPlumtreeEagerMin(t *testing.T) {
	cost := func(eagerMin int) uint64 {
		tn, _ := plumNet(t, 60, 2, eagerMin)
		for i := 0; i < 20; i++ {
			m := tn.publish(i%60, "t", []byte(fmt.Sprint(i)))
			tn.runUntil(m.Key(), 20)
		}
		before := bodiesSent(tn)
		m := tn.publish(3, "t", []byte("x"))
		tn.runUntil(m.Key(), 20)
		return bodiesSent(tn) - before
	}
	if a, b := cost(0), cost(3); b <= a {
		t.Errorf("EagerMin 3 sent %d bodies, EagerMin 0 %d: want more copies with a higher floor", b, a)
	}
}

func TestPruneRecordWire(t *testing.T) {
	f, err := DecodeFrame(AppendPruneRecord(NewFrame(nil)), DefaultLimits())
	if err != nil || !f.Prune {
		t.Fatalf("decode prune: %v, %+v", err, f)
	}
	bad := AppendRecord(NewFrame(nil), RecPrune, []byte{1})
	if _, err := DecodeFrame(bad, DefaultLimits()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("prune with a body: %v, want ErrMalformed", err)
	}
}
