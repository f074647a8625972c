package membership

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// ringNeighbors is member i's neighbours on a ring of n members: those 1, 2
// and 5 places either side (degree 6, symmetric, and two neighbours of a
// member are mostly not neighbours of each other, as in a random overlay).
type ringNeighbors struct{ i, n int }

func (r ringNeighbors) AppendNeighbors(dst []core.NodeID) []core.NodeID {
	for _, d := range []int{1, 2, 5} {
		dst = append(dst, nodeID((r.i+d)%r.n), nodeID((r.i-d+r.n)%r.n))
	}
	return dst
}

func (r ringNeighbors) IsNeighbor(id core.NodeID) bool {
	for _, d := range []int{1, 2, 5} {
		if id == nodeID((r.i+d)%r.n) || id == nodeID((r.i-d+r.n)%r.n) {
			return true
		}
	}
	return false
}

// checkCounts counts signature checks of suspect and dead records, per
// member.
type checkCounts struct{ suspect, dead []int }

// localCluster is an authenticated cluster of n members on a ring overlay
// (ringNeighbors), with LocalAccusations as given, counting each member's
// signature checks.
func localCluster(t *testing.T, n int, seed uint64, local bool, mod func(i int, cfg *Config)) (*cluster, *checkCounts) {
	cc := &checkCounts{suspect: make([]int, n), dead: make([]int, n)}
	c := newCluster(t, n, seed, func(i int, cfg *Config) {
		authenticate(cfg)
		verify := cfg.Verifier
		cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
			// An accusation's signed bytes start with "grapevine/member/accuse/v1"
			// and the record type: 27 bytes.
			switch {
			case bytes.HasPrefix(msg, AccuseSigningBytes(RecSuspect, "", 0, "")[:27]):
				cc.suspect[i]++
			case bytes.HasPrefix(msg, AccuseSigningBytes(RecDead, "", 0, "")[:27]),
				bytes.HasPrefix(msg, []byte("grapevine/member/verdicts/")):
				cc.dead[i]++
			}
			return verify.VerifyMembership(member, msg, sig)
		})
		cfg.Neighbors = ringNeighbors{i: i, n: n}
		cfg.LocalAccusations = local
		cfg.NewMemberGrace = 0
		if mod != nil {
			mod(i, cfg)
		}
	})
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	return c, cc
}

// allHoldDead reports whether every up member holds each of victims dead.
func (c *cluster) allHoldDead(victims ...int) bool {
	for i, m := range c.nodes {
		if c.down[i] {
			continue
		}
		for _, v := range victims {
			if mem, ok := m.Member(nodeID(v)); !ok || mem.State != StateDead {
				return false
			}
		}
	}
	return true
}

func sum(xs []int) (s int) {
	for _, x := range xs {
		s += x
	}
	return s
}

// TestLocalAccusationsCrash: three members crash at once on a ring
// overlay. With LocalAccusations every survivor still holds every victim
// dead, no sooner than a declaration allows and about as soon as without
// it, and checks about two signatures per victim (the two verdicts)
// instead of one per accuser, confirmation and verdict: no survivor checks
// a suspicion at all, since each accuser sends its own to the accused
// alone.
func TestLocalAccusationsCrash(t *testing.T) {
	const n = 40
	victims := []int{7, 21, 30}
	type outcome struct {
		ticks         int
		checksPerPair float64
		suspectChecks int
		declared      uint64
	}
	runOne := func(seed uint64, local bool) outcome {
		c, cc := localCluster(t, n, seed, local, nil)
		for i := range cc.suspect {
			cc.suspect[i], cc.dead[i] = 0, 0
		}
		for _, v := range victims {
			c.down[v] = true
		}
		ticks := c.runUntil(600, fmt.Sprintf("local=%v: survivors hold the victims dead", local), func() bool { return c.allHoldDead(victims...) })
		c.run(100)
		for _, e := range c.events {
			if e.Kind == EventFail && !c.down[c.byID[e.Member.ID]] {
				t.Fatalf("local=%v: live member %s declared dead", local, e.Member.ID)
			}
		}
		var o outcome
		o.ticks = ticks
		o.suspectChecks = sum(cc.suspect)
		o.checksPerPair = float64(sum(cc.suspect)+sum(cc.dead)) / float64((n-len(victims))*len(victims))
		for _, m := range c.nodes {
			o.declared += m.Stats().Declared
		}
		return o
	}
	for seed := uint64(1); seed <= 3; seed++ {
		off, on := runOne(seed, false), runOne(seed, true)
		t.Logf("seed %d: off %+v; on %+v", seed, off, on)
		if on.checksPerPair > 3 {
			t.Errorf("seed %d: %.2f signature checks per survivor per victim with LocalAccusations, want at most 3", seed, on.checksPerPair)
		}
		if off.checksPerPair < 1.5*on.checksPerPair {
			t.Errorf("seed %d: %.2f checks per survivor per victim without LocalAccusations, %.2f with: no saving", seed, off.checksPerPair, on.checksPerPair)
		}
		if on.suspectChecks != 0 {
			t.Errorf("seed %d: survivors checked %d suspicions of crashed members; only the accused should hear them", seed, on.suspectChecks)
		}
		if on.ticks > off.ticks+30 {
			t.Errorf("seed %d: detection took %d ticks with LocalAccusations, %d without", seed, on.ticks, off.ticks)
		}
	}
}

// TestLocalAccusationsFalseSuspicion: a member's probes of a live
// neighbour fail (the suspect's frames to it are lost, and it asks no
// helpers). With LocalAccusations its suspicion reaches the suspect alone,
// which refutes it: no other member checks a suspicion, and nobody
// declares the suspect dead. Without, the whole group checks it.
func TestLocalAccusationsFalseSuspicion(t *testing.T) {
	const n, accuser, suspect = 30, 4, 5
	for _, local := range []bool{true, false} {
		c, cc := localCluster(t, n, 7, local, func(i int, cfg *Config) {
			if i == accuser {
				cfg.IndirectChecks = 0
			}
		})
		for i := range cc.suspect {
			cc.suspect[i] = 0
		}
		inc := c.nodes[suspect].Incarnation()
		c.cut = func(from, to int) bool { return from == suspect && to == accuser }
		c.runUntil(300, "the suspect refutes", func() bool { return c.nodes[suspect].Incarnation() > inc })
		c.run(200)
		others := 0
		for i, k := range cc.suspect {
			if i != suspect && i != accuser {
				others += k
			}
		}
		if local && others > 0 {
			t.Errorf("members other than the suspect checked %d suspicions", others)
		}
		if !local && others < n/2 {
			t.Errorf("without LocalAccusations only %d suspicions were checked by the others: the test does not exercise the spread", others)
		}
		if c.count(EventFail, nodeID(suspect)) > 0 {
			t.Fatalf("local=%v: the live suspect was declared dead", local)
		}
	}
}

// TestAttackSuspicionAmplified: a hostile member sends one signed
// suspicion of a live member to a single member that is not its
// neighbour. Without LocalAccusations that member checks it and passes it
// on, so the whole group checks it, for one frame of the attacker's; with
// it, the recipient checks it and passes it to the accused alone
// (Stats.AccusationsKept), which refutes it. In both cases the accused
// refutes and is not declared dead.
func TestAttackSuspicionAmplified(t *testing.T) {
	const n, attacker, recipient, accused = 30, 29, 28, 12
	for _, local := range []bool{true, false} {
		c, cc := localCluster(t, n, 3, local, nil)
		for i := range cc.suspect {
			cc.suspect[i] = 0
		}
		inc := c.nodes[accused].Incarnation()
		frame := accusation(RecSuspect, nodeID(accused), inc, nodeID(attacker), nodeID(attacker))
		c.queue = append(c.queue, packet{from: attacker, to: recipient, frame: frame})
		c.run(400) // past the recipient's longest suspicion timeout
		checked := 0
		for i, k := range cc.suspect {
			if i != attacker && k > 0 {
				checked++
			}
		}
		kept := c.nodes[recipient].Stats().AccusationsKept
		switch {
		case local && (checked != 2 || cc.suspect[accused] != 1 || kept != 1):
			t.Errorf("local: %d members checked the suspicion (want the recipient and the accused), recipient kept %d", checked, kept)
		case !local && checked < n/2:
			t.Errorf("without LocalAccusations %d members checked the suspicion: the test does not exercise the spread", checked)
		}
		if c.nodes[accused].Incarnation() <= inc {
			t.Errorf("local=%v: the accused did not refute", local)
		}
		if c.count(EventFail, nodeID(accused)) > 0 {
			t.Fatalf("local=%v: the accused was declared dead", local)
		}
	}
}
