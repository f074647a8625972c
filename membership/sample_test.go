package membership

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// sampledCluster is n members over a fixed random overlay (a ring plus
// random chords, symmetric, degree about 8) with sampled member lists of
// size sample; every member is told its neighbours (NeighborUp, as the
// overlay's OnUp does) and joins through member 0.
func sampledCluster(t *testing.T, n, sample int, seed uint64, mod func(i int, c *Config)) (*cluster, [][]int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	adj := make([]map[int]bool, n)
	for i := range adj {
		adj[i] = map[int]bool{}
	}
	link := func(a, b int) {
		if a != b {
			adj[a][b], adj[b][a] = true, true
		}
	}
	for i := 0; i < n; i++ {
		link(i, (i+1)%n)
		for k := 0; k < 3; k++ {
			link(i, rng.IntN(n))
		}
	}
	nbrs := make([][]int, n)
	for i := range adj {
		for j := 0; j < n; j++ {
			if adj[i][j] {
				nbrs[i] = append(nbrs[i], j)
			}
		}
	}
	c := newCluster(t, n, seed, func(i int, cfg *Config) {
		var nb staticNeighbors
		for _, j := range nbrs[i] {
			nb = append(nb, nodeID(j))
		}
		cfg.Neighbors = nb
		cfg.MemberSample = sample
		if mod != nil {
			mod(i, cfg)
		}
	})
	c.joinAll()
	for i, m := range c.nodes {
		for _, j := range nbrs[i] {
			m.NeighborUp(nodeID(j))
		}
	}
	c.deliver()
	return c, nbrs
}

// knowsNeighbors reports whether every up member holds each of its up
// neighbours alive.
func knowsNeighbors(c *cluster, nbrs [][]int) bool {
	for i, m := range c.nodes {
		if c.down[i] {
			continue
		}
		for _, j := range nbrs[i] {
			if c.down[j] {
				continue
			}
			if mem, ok := m.Member(nodeID(j)); !ok || mem.State != StateAlive {
				return false
			}
		}
	}
	return true
}

// TestSampledListBounded: with MemberSample 16 in a group of 150, every
// member holds its neighbours alive and at most 16 other members once the
// group has settled (the join of the 149 others did not reach every
// member: most newcomers were neither kept nor passed on), and every
// member's list is a different sample.
func TestSampledListBounded(t *testing.T) {
	const n, sample = 150, 16
	c, nbrs := sampledCluster(t, n, sample, 1, nil)
	c.runUntil(600, "every member knows its neighbours", func() bool { return knowsNeighbors(c, nbrs) })
	c.run(300)
	var skipped, evicted uint64
	same := 0
	first := map[core.NodeID]bool{}
	for _, mem := range c.nodes[1].Members() {
		first[mem.ID] = true
	}
	for i, m := range c.nodes {
		st := m.Stats()
		skipped += st.SampleSkipped
		evicted += st.SampleEvicted
		if got, most := m.NumLive(), sample+len(nbrs[i]); got > most {
			t.Errorf("member %d holds %d live members, want at most %d (sample %d + %d neighbours)", i, got, most, sample, len(nbrs[i]))
		}
		if i > 1 && len(m.Members()) == len(first) {
			all := true
			for _, mem := range m.Members() {
				all = all && first[mem.ID]
			}
			if all {
				same++
			}
		}
	}
	if !knowsNeighbors(c, nbrs) {
		t.Error("a member forgot a neighbour")
	}
	if skipped == 0 || evicted == 0 {
		t.Errorf("newcomers skipped %d, evicted %d: want both above 0 in a group of %d with samples of %d", skipped, evicted, n, sample)
	}
	if same > 0 {
		t.Errorf("%d members hold exactly member 1's list", same)
	}
	t.Logf("newcomers skipped %d, sampled members evicted %d, frames sent %d", skipped, evicted, c.sent)
}

// TestSampledListDetectsCrash: a member crashes silently in a sampled
// group. Its neighbours, which are seldom neighbours of one another, each
// declare it failed, and so does every other member that holds it; the
// accusations reach members that never kept it (ghost entries) on the way;
// no live member is declared failed anywhere. Unsigned, and with signed
// records (where a dead record from one member is only a suspicion).
func TestSampledListDetectsCrash(t *testing.T) {
	const n, sample, victim = 150, 16, 42
	for _, signed := range []bool{false, true} {
		for seed := uint64(1); seed <= 3; seed++ {
			c, nbrs := sampledCluster(t, n, sample, seed, func(i int, cfg *Config) {
				if signed {
					authenticate(cfg)
				}
			})
			c.runUntil(600, "every member knows its neighbours", func() bool { return knowsNeighbors(c, nbrs) })
			c.run(100)
			c.down[victim] = true
			held := func() (live int) {
				for i, m := range c.nodes {
					if c.down[i] {
						continue
					}
					if mem, ok := m.Member(nodeID(victim)); ok && mem.State.Live() {
						live++
					}
				}
				return live
			}
			if signed {
				// No ghosts in authenticated mode: the neighbours declare
				// the victim themselves; others that sampled it may keep it.
				ticks := c.runUntil(1200, "every neighbour holds the victim dead", func() bool {
					for _, j := range nbrs[victim] {
						if mem, ok := c.nodes[j].Member(nodeID(victim)); !ok || mem.State != StateDead {
							return false
						}
					}
					return true
				})
				t.Logf("signed, seed %d: every neighbour held the victim dead %d ticks after its crash; %d other holders still hold it", seed, ticks, held())
			} else {
				ticks := c.runUntil(1200, "every holder holds the victim failed", func() bool { return held() == 0 })
				t.Logf("seed %d: every holder held the victim failed %d ticks after its crash", seed, ticks)
			}
			for _, j := range nbrs[victim] {
				if mem, ok := c.nodes[j].Member(nodeID(victim)); !ok || mem.State != StateDead {
					t.Errorf("signed %v, seed %d: neighbour %d holds the victim %v (known %v), want dead", signed, seed, j, mem.State, ok)
				}
			}
			var ghosts uint64
			for _, m := range c.nodes {
				ghosts += m.Stats().SampleGhosts
			}
			if (ghosts == 0) != signed {
				t.Errorf("signed %v, seed %d: %d ghost entries: want some unsigned, none signed", signed, seed, ghosts)
			}
			falseFails := 0
			for _, e := range c.events {
				if e.Kind == EventFail && e.Member.ID != nodeID(victim) {
					falseFails++
				}
			}
			if falseFails != 0 {
				t.Errorf("signed %v, seed %d: %d live members declared failed", signed, seed, falseFails)
			}
		}
	}
}

// TestFullListUnchangedByNeighborUp: without a sample, NeighborUp sends
// nothing and the member list covers every member.
func TestFullListUnchangedByNeighborUp(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	c.nodes[0].NeighborUp(nodeID(1))
	if len(c.queue) != 0 || c.nodes[0].Stats().SampleIntroductions != 0 {
		t.Fatalf("NeighborUp without a sample sent %d frames", len(c.queue))
	}
	c.joinAll()
	c.runUntil(600, "convergence", c.converged)
}

// TestSampledNoGhostsWhenAuthenticated: with a Verifier a member with a
// sampled list makes no entry for a member outside it that another member
// accuses (signed by the accuser, at an incarnation nobody can check
// here): the accusation is dropped as stale, not kept or passed on.
func TestSampledNoGhostsWhenAuthenticated(t *testing.T) {
	c := newCluster(t, 3, 1, func(i int, cfg *Config) {
		authenticate(cfg)
		cfg.MemberSample = 4
	})
	c.joinAll()
	c.runUntil(600, "convergence", c.converged)
	m := c.nodes[0]
	accuser := nodeID(1)
	stale := m.Stats().Stale
	c.step(packet{from: 1, to: 0, frame: accusation(RecDead, "outside", 1<<40, accuser, accuser)})
	if _, ok := m.Member("outside"); ok || m.Stats().SampleGhosts != 0 || m.Stats().Stale != stale+1 {
		t.Fatalf("known %v, ghosts %d, stale %d -> %d: want no entry, counted stale", ok, m.Stats().SampleGhosts, stale, m.Stats().Stale)
	}
}

// TestSampledAsksUnknownNeighbor: a neighbour whose introduction never
// arrived (lost, or trimmed before the link was made at this end) is asked
// for its state once a protocol period, at most once per sampleAskGap, and
// its own alive in the answer is kept: it is then probed like any
// neighbour.
func TestSampledAsksUnknownNeighbor(t *testing.T) {
	m, tr, _ := newTest(t, func(c *Config) {
		c.MemberSample = 4
		c.Neighbors = staticNeighbors{"x"}
	})
	for k := 0; k < m.cfg.ProbeInterval; k++ {
		m.Tick()
	}
	if got := len(tr.records("x", RecState)); got != 1 || m.Stats().SampleNeighborAsks != 1 {
		t.Fatalf("state requests to the unknown neighbour: %d (counted %d), want 1", got, m.Stats().SampleNeighborAsks)
	}
	for k := 0; k < sampleAskGap-m.cfg.ProbeInterval; k++ {
		m.Tick()
	}
	if got := len(tr.records("x", RecState)); got != 1 {
		t.Fatalf("asked %d times within the gap, want once", got)
	}
	var answer []byte
	ch := stateChunker{maxChunk: 4096, emit: func(b []byte) { answer = b }}
	ch.add(&stateEntry{id: "x", state: StateAlive, inc: 1})
	ch.finish()
	f, err := core.DecodeFrame(answer, core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Step("x", f); err != nil {
		t.Fatal(err)
	}
	if mem, ok := m.Member("x"); !ok || mem.State != StateAlive {
		t.Fatalf("the neighbour's state answered: known %v (%v), want alive", ok, mem.State)
	}
	for k := 0; k < 2*sampleAskGap; k++ {
		m.Tick()
	}
	if got := m.Stats().SampleNeighborAsks; got != 1 {
		t.Fatalf("asked a known neighbour again: %d asks", got)
	}
}

// TestSampledRefutedAccusationNoGhost: a member forgotten from a sampled
// list after it refuted a suspicion is not made a ghost, and so not
// suspected again, when the old suspicion reaches the list's owner later;
// a suspicion at its current incarnation still makes a ghost.
func TestSampledRefutedAccusationNoGhost(t *testing.T) {
	const n, sample = 60, 16
	c, nbrs := sampledCluster(t, n, sample, 3, nil)
	c.runUntil(600, "every member knows its neighbours", func() bool { return knowsNeighbors(c, nbrs) })
	c.run(300)
	const owner, accuser = 1, 2
	a := c.nodes[owner]
	isNbr := func(i, j int) bool {
		for _, k := range nbrs[i] {
			if k == j {
				return true
			}
		}
		return false
	}
	x := -1
	for _, mem := range a.Members() {
		var j int
		if _, err := fmt.Sscanf(string(mem.ID), "n%d", &j); err != nil || j == owner || j == accuser || isNbr(owner, j) || mem.State != StateAlive {
			continue
		}
		x = j
		break
	}
	if x < 0 {
		t.Fatalf("the owner holds no member outside its neighbours: %v, neighbours %v", a.Members(), nbrs[owner])
	}
	xid := nodeID(x)
	// x is suspected at incarnation 0 and refutes it.
	c.inject(accuser, accusation(RecSuspect, xid, 0, nodeID(accuser), nodeID(accuser)))
	c.runUntil(300, "the owner holds x alive at incarnation 1", func() bool {
		mem, ok := a.Member(xid)
		return ok && mem.State == StateAlive && mem.Incarnation >= 1
	})
	// The owner trims x from its sample.
	a.forget(a.members.get(a.all, xid))
	if _, ok := a.Member(xid); ok {
		t.Fatal("x still held after forget")
	}
	ghosts := a.Stats().SampleGhosts
	// The refuted suspicion reaches the owner again.
	c.queue = append(c.queue, packet{from: accuser, to: owner, frame: accusation(RecSuspect, xid, 0, nodeID(accuser), nodeID(accuser))})
	c.deliver()
	if _, ok := a.Member(xid); ok {
		t.Fatalf("a suspicion x had refuted made it a ghost again (ghosts %d -> %d)", ghosts, a.Stats().SampleGhosts)
	}
	if st := a.Stats(); st.SampleGhostsStale != 1 || st.SampleGhosts != ghosts {
		t.Fatalf("stale ghosts %d, ghosts %d -> %d: want 1 stale and no new ghost", st.SampleGhostsStale, ghosts, st.SampleGhosts)
	}
	// A suspicion at x's current incarnation is news: x becomes a ghost.
	mem, _ := c.nodes[x].Member(xid)
	c.queue = append(c.queue, packet{from: accuser, to: owner, frame: accusation(RecSuspect, xid, mem.Incarnation, nodeID(accuser), nodeID(accuser))})
	c.deliver()
	if got, ok := a.Member(xid); !ok || got.State != StateSuspect {
		t.Fatalf("a current suspicion of a forgotten member: held %v (%v), want a suspect ghost", ok, got.State)
	}
}

// TestForgottenIncsBounded: the memory of forgotten incarnations keeps the
// latest capacity members, the highest incarnation of each, for
// forgottenTicks.
func TestForgottenIncsBounded(t *testing.T) {
	var f forgottenIncs
	dropped := 0
	for i := 0; i < 10; i++ {
		if f.note(nodeID(i), uint64(i), uint64(i), 4) {
			dropped++
		}
	}
	f.note(nodeID(9), 3, 10, 4) // an older incarnation does not lower it
	if dropped != 6 || len(f.inc) != 4 || len(f.queue)-f.head != 4 {
		t.Fatalf("dropped %d, kept %d (queue %d): want 6 dropped, 4 kept", dropped, len(f.inc), len(f.queue)-f.head)
	}
	if f.newerThan(nodeID(3), 0) || !f.newerThan(nodeID(9), 8) || f.newerThan(nodeID(9), 9) {
		t.Fatalf("remembered %v", f.inc)
	}
	// forgottenTicks later, a note finds the others expired, not dropped.
	if f.note(nodeID(20), 1, 9+forgottenTicks, 4) {
		t.Fatal("an expired entry counted as dropped")
	}
	if len(f.inc) != 1 || !f.newerThan(nodeID(20), 0) || f.newerThan(nodeID(9), 8) {
		t.Fatalf("after expiry: remembered %v", f.inc)
	}
}

// TestSampledTombstonesBounded: in a trusted group with sampled lists, the
// failures of many members (each a ghost, then a tombstone, at members
// that never kept it) leave each member at most sampleTombsPerSample times
// its sample of tombstones; the oldest are evicted and counted.
func TestSampledTombstonesBounded(t *testing.T) {
	const n, sample = 120, 8
	c, nbrs := sampledCluster(t, n, sample, 5, nil)
	c.runUntil(600, "every member knows its neighbours", func() bool { return knowsNeighbors(c, nbrs) })
	c.run(100)
	for v := 60; v < 100; v++ {
		c.down[v] = true
	}
	c.run(1500)
	var evicted uint64
	for i, m := range c.nodes {
		if c.down[i] {
			continue
		}
		checkInvariants(t, m) // tombstones evicted: the counts by state follow
		st := m.CountStates()
		if tombs := st[StateDead] + st[StateLeft]; tombs > sampleTombsPerSample*sample {
			t.Errorf("member %d holds %d tombstones, want at most %d", i, tombs, sampleTombsPerSample*sample)
		}
		evicted += m.Stats().TombstonesEvicted
	}
	if evicted == 0 {
		t.Errorf("no tombstone evicted after %d failures with a bound of %d", 40, sampleTombsPerSample*sample)
	}
	t.Logf("tombstones evicted %d", evicted)
}
