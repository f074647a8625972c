package core

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// nbrSampler is an overlay sampler for tests: it samples and lists only the
// node's neighbours; Size is the whole group's.
type nbrSampler struct {
	peers []NodeID
	rng   *rand.Rand
	ver   uint64
	n     int
}

func (s *nbrSampler) Sample(dst []NodeID, k int) []NodeID {
	return SampleDistinct(dst, k, len(s.peers), s.rng, func(i int) NodeID { return s.peers[i] })
}
func (s *nbrSampler) Size() int                             { return s.n }
func (s *nbrSampler) NeighborsVersion() uint64              { return s.ver }
func (s *nbrSampler) AppendNeighbors(dst []NodeID) []NodeID { return append(dst, s.peers...) }

// circulantNeighbours links i to i±o for each offset: a connected graph of
// degree 2·len(offsets).
func circulantNeighbours(i, n int, offsets []int) []NodeID {
	var out []NodeID
	for _, o := range offsets {
		out = append(out, nodeName((i+o)%n), nodeName((i-o+n)%n))
	}
	return out
}

// plumNet builds n engines with Plumtree over a circulant neighbour graph of
// degree 8; rounds announce (IHAVE) rather than push bodies.
func plumNet(t *testing.T, n int, seed uint64, tweak func(i int, c *Config)) *testNet {
	return newTestNet(t, n, seed, func(i int, c *Config) {
		c.Plumtree = true
		c.Sampler = &nbrSampler{peers: circulantNeighbours(i, n, []int{1, 2, 5, 11}), rng: c.Rand, ver: 1, n: n}
		c.LazyThreshold = 1
		c.IWantDelay = 1
		c.Rounds = 1
		if tweak != nil {
			tweak(i, c)
		}
	})
}

// requireLossRepaired drops a fifth of all frames from now on and requires
// each of ten messages to reach every node within 20 rounds.
func requireLossRepaired(t *testing.T, tn *testNet) {
	t.Helper()
	tn.loss = 0.2
	n := len(tn.nodes)
	for j := 0; j < 10; j++ {
		m := tn.publish((j*13)%n, "t", []byte("lossy"))
		if r := tn.runUntil(m.Key(), 20); r > 20 {
			t.Fatalf("msg %d: %d of %d have it after 20 rounds", j, tn.have(m.Key()), n)
		}
	}
}

func sumSent(tn *testNet) (bodies uint64, ps PlumStats) {
	for _, e := range tn.nodes {
		bodies += e.Stats().MessagesSent
		s := e.PlumStats()
		ps.PrunesSent += s.PrunesSent
		ps.PrunesReceived += s.PrunesReceived
		ps.Grafts += s.Grafts
		ps.Duplicates += s.Duplicates
		ps.EagerSent += s.EagerSent
		ps.LazySent += s.LazySent
	}
	return bodies, ps
}

// Every member delivers every message exactly once, through the eager push
// alone (no rounds), and duplicates prune links so that the body copies per
// delivery fall toward 1 (EagerMin 0) or stay near 2 (EagerMin 2).
func TestPlumtreeDeliversOnceAndPrunes(t *testing.T) {
	const n, msgs = 200, 40
	for _, tc := range []struct {
		eagerMin int
		maxLast  float64 // body copies per delivery of the last messages
	}{{0, 1.2}, {2, 2.5}} {
		tn := plumNet(t, n, 5, func(i int, c *Config) { c.EagerMin = tc.eagerMin })
		var first, last float64
		for j := 0; j < msgs; j++ {
			before, _ := sumSent(tn)
			m := tn.publish((j*37)%n, "t", []byte("hi"))
			if got := tn.have(m.Key()); got != n {
				t.Fatalf("EagerMin %d msg %d: %d of %d have it after the eager push", tc.eagerMin, j, got, n)
			}
			after, _ := sumSent(tn)
			per := float64(after-before) / float64(n-1)
			if j == 0 {
				first = per
			}
			if j >= msgs-5 {
				last += per / 5
			}
		}
		for i, a := range tn.apps {
			if len(a.got) != msgs {
				t.Fatalf("node %d delivered %d messages, want %d", i, len(a.got), msgs)
			}
		}
		_, ps := sumSent(tn)
		if ps.PrunesSent == 0 || ps.PrunesReceived != ps.PrunesSent {
			t.Errorf("EagerMin %d: %d prunes sent, %d received", tc.eagerMin, ps.PrunesSent, ps.PrunesReceived)
		}
		if last > tc.maxLast || last >= first {
			t.Errorf("EagerMin %d: %.2f body copies per delivery at first, %.2f at the end; want the end ≤ %.2f and below the first",
				tc.eagerMin, first, last, tc.maxLast)
		}
		t.Logf("EagerMin %d: copies per delivery %.2f first, %.2f last; %+v", tc.eagerMin, first, last, ps)
	}
}

// Once the tree has formed, a lost body is repaired by IHAVE/IWANT, and the
// IWANT grafts the lazy link.
func TestPlumtreeRepairsLossByGraft(t *testing.T) {
	const n = 150
	tn := plumNet(t, n, 9, func(i int, c *Config) { c.EagerMin = 0 })
	for j := 0; j < 20; j++ {
		tn.publish(j%n, "t", []byte("warm"))
	}
	requireLossRepaired(t, tn)
	_, ps := sumSent(tn)
	if ps.Grafts == 0 {
		t.Errorf("no grafts after repairing loss: %+v", ps)
	}
}

// TestPlumLazyFanout: with PlumLazyFanout k a node announces each message
// on first receipt to at most k of its lazy neighbours, and a loss of
// eager bodies is still repaired from those announcements.
func TestPlumLazyFanout(t *testing.T) {
	const n, k = 150, 2
	tn := plumNet(t, n, 9, func(i int, c *Config) { c.EagerMin, c.PlumLazyFanout = 0, k })
	for j := 0; j < 20; j++ {
		tn.publish(j%n, "t", []byte("warm"))
	}
	_, warm := sumSent(tn)
	var skipped uint64
	for _, e := range tn.nodes {
		skipped += e.PlumStats().LazySkipped
	}
	// Each node forwards each message to at most k lazy neighbours (the
	// circulant graph gives every node 8 neighbours).
	if max := uint64(20 * n * k); warm.LazySent > max || skipped == 0 {
		t.Fatalf("%d announcements on first receipt for 20 messages (at most %d), %d skipped", warm.LazySent, max, skipped)
	}
	requireLossRepaired(t, tn)
}

// A neighbour that leaves takes its link state with it; a PRUNE or IWANT
// from a peer that is not a neighbour creates no state.
func TestPlumtreeStateFollowsNeighbours(t *testing.T) {
	tn := plumNet(t, 30, 3, nil)
	tn.publish(0, "t", []byte("x"))
	e := tn.nodes[0]
	if eg, lz := e.PlumLinks(); eg+lz != 8 {
		t.Fatalf("node 0 has %d links, want its 8 neighbours", eg+lz)
	}
	s := e.cfg.Sampler.(*nbrSampler)
	s.peers = s.peers[:3]
	s.ver++
	e.StepFrame(nodeName(29), &Frame{Prune: true}) // refreshes the table
	if eg, lz := e.PlumLinks(); eg+lz != 3 || e.PlumStats().LinksDropped != 5 {
		t.Fatalf("after 5 neighbours left: %d links, %d dropped", eg+lz, e.PlumStats().LinksDropped)
	}
	for i := 0; i < 100; i++ {
		e.StepFrame(NodeID("stranger"), &Frame{Prune: true, IWant: []MsgKey{{Origin: "stranger", Seq: 1}}})
	}
	if eg, lz := e.PlumLinks(); eg+lz != 3 {
		t.Fatalf("a stranger's prunes and IWANTs created link state: %d links", eg+lz)
	}
}

// With Plumtree set but a sampler that is no NeighborLister, the engine
// behaves exactly as with Plumtree off.
func TestPlumtreeWithoutListerUnchanged(t *testing.T) {
	run := func(on bool) (Stats, int) {
		tn := newTestNet(t, 40, 11, func(i int, c *Config) {
			c.Plumtree = on
			c.Sampler = plainSampler{c.Sampler.(*StaticSampler)}
		})
		tn.loss = 0.1
		for j := 0; j < 5; j++ {
			m := tn.publish(j, "t", []byte("y"))
			tn.runUntil(m.Key(), 10)
		}
		var s Stats
		for _, e := range tn.nodes {
			st := e.Stats()
			s.MessagesSent += st.MessagesSent
			s.IHavesSent += st.IHavesSent
			s.Duplicates += st.Duplicates
			s.BytesSent += st.BytesSent
		}
		return s, tn.frames
	}
	a, fa := run(false)
	b, fb := run(true)
	if a != b || fa != fb {
		t.Fatalf("Plumtree without a NeighborLister changed behaviour: %+v %d vs %+v %d", a, fa, b, fb)
	}
}

func TestPruneWire(t *testing.T) {
	lim := DefaultLimits()
	f, err := DecodeFrame(EncodeFrame(&Frame{Prune: true, IWant: []MsgKey{{Origin: "a", Seq: 1}}}), lim)
	if err != nil || !f.Prune || len(f.IWant) != 1 {
		t.Fatalf("round trip: %+v, %v", f, err)
	}
	if f, err := DecodeFrame(EncodeFrame(&Frame{}), lim); err != nil || f.Prune {
		t.Fatalf("empty frame decodes with Prune %v, %v", f.Prune, err)
	}
	for _, b := range [][]byte{
		{WireVersion, RecPrune, 1, 0},           // a prune with a body
		{WireVersion, RecPrune, 0, RecPrune, 0}, // two prunes
		{WireVersion, RecPrune, 2, 0},           // truncated
	} {
		if _, err := DecodeFrame(b, lim); err == nil {
			t.Errorf("%x decoded", b)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
			t.Errorf("%x: unexpected error %v", b, err)
		}
	}
}

// Tree push with Plumtree set but a sampler that lists the group rather than
// neighbours (a PeerLister, no NeighborLister) is tree push unchanged,
// duplicate-with-arc forwarding included.
func TestPlumtreeLeavesTreePushAlone(t *testing.T) {
	run := func(on bool) (uint64, uint64, int) {
		tn := treeNet(t, 60, 4, 13, func(i int, c *Config) { c.Plumtree = on })
		tn.loss = 0.1
		for j := 0; j < 5; j++ {
			m := tn.publish(j, "t", []byte("z"))
			tn.runUntil(m.Key(), 10)
		}
		var sent, tree uint64
		for _, e := range tn.nodes {
			sent += e.Stats().MessagesSent
			tree += e.Stats().TreeSent
		}
		return sent, tree, tn.frames
	}
	a1, a2, a3 := run(false)
	b1, b2, b3 := run(true)
	if a1 != b1 || a2 != b2 || a3 != b3 || a2 == 0 {
		t.Fatalf("off: %d bodies, %d tree, %d frames; on: %d, %d, %d", a1, a2, a3, b1, b2, b3)
	}
}

// With PlumRoundsAfterLoss, the per-round announcements are left out while
// no loss was seen: a message costs first receipt's announcements only. A
// node that sends an IWANT or loses a neighbour link announces in its
// rounds again, for PlumRoundsAfterLoss ticks.
func TestPlumRoundsAfterLoss(t *testing.T) {
	const n, window = 30, 10
	roundIHaves := func(tn *testNet) (sum uint64, per []uint64) {
		for _, e := range tn.nodes {
			r := e.Stats().IHavesSent - e.PlumStats().LazySent
			per = append(per, r)
			sum += r
		}
		return sum, per
	}
	// messages publishes three messages and runs the rounds they are hot in.
	messages := func(tn *testNet, tag string) {
		for j := 0; j < 3; j++ {
			tn.publish(j, "t", []byte(tag))
		}
		for r := 0; r < 3; r++ {
			tn.round()
		}
	}
	always := plumNet(t, n, 5, nil)
	messages(always, "always")
	if sum, _ := roundIHaves(always); sum == 0 {
		t.Fatal("no round announcements with PlumRoundsAfterLoss 0")
	}

	tn := plumNet(t, n, 5, func(_ int, c *Config) { c.PlumRoundsAfterLoss = window })
	messages(tn, "warm") // the first messages: new links, perhaps IWANTs
	for r := 0; r < window+1; r++ {
		tn.round()
	}
	before, _ := roundIHaves(tn)
	messages(tn, "quiet")
	after, _ := roundIHaves(tn)
	var quiet uint64
	for _, e := range tn.nodes {
		quiet += e.PlumStats().QuietRounds
	}
	if after != before || quiet == 0 {
		t.Fatalf("without loss: %d round announcements (want none), %d quiet rounds", after-before, quiet)
	}
	for i, app := range tn.apps {
		got := 0
		for _, m := range app.got {
			if string(m.Payload) == "quiet" {
				got++
			}
		}
		if got != 3 {
			t.Fatalf("node %d delivered %d of the 3 quiet-round messages", i, got)
		}
	}

	// Node 7 loses a neighbour link: its rounds announce again, the
	// others' stay quiet.
	s := tn.nodes[7].cfg.Sampler.(*nbrSampler)
	s.peers = s.peers[1:]
	s.ver++
	_, per0 := roundIHaves(tn)
	messages(tn, "after a link went")
	_, per1 := roundIHaves(tn)
	for i := range per1 {
		if d := per1[i] - per0[i]; (i == 7) != (d > 0) {
			t.Fatalf("node %d: %d round announcements after node 7 lost a link", i, d)
		}
	}

	// An IWANT sent is loss too.
	for r := 0; r < window+1; r++ {
		tn.round()
	}
	_, per0 = roundIHaves(tn)
	tn.nodes[3].sendIWant(nodeName(4), MsgKey{Origin: nodeName(0), Seq: 999})
	tn.nodes[3].flush()
	tn.settle()
	messages(tn, "after an IWANT")
	_, per1 = roundIHaves(tn)
	if per1[3] == per0[3] {
		t.Fatal("no round announcements after an IWANT")
	}
}
