package core

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestInArc(t *testing.T) {
	const max = ^uint64(0)
	cases := []struct {
		x, a, e uint64
		want    bool
	}{
		{5, 1, 10, true},
		{1, 1, 10, false},  // the start is not inside
		{10, 1, 10, false}, // nor the end
		{11, 1, 10, false},
		{max, 100, 5, true}, // wrapping arc
		{0, 100, 5, true},
		{5, 100, 5, false},
		{50, 100, 5, false},
		{101, 100, 5, true},
		{7, 7, 7, false}, // an arc from a point to itself is the ring but the point
		{8, 7, 7, true},
		{6, 7, 7, true},
	}
	for _, c := range cases {
		if got := inArc(c.x, c.a, c.e); got != c.want {
			t.Errorf("inArc(%d, %d, %d) = %v, want %v", c.x, c.a, c.e, got, c.want)
		}
	}
}

func treeNet(t *testing.T, n, k int, seed uint64, tweak func(i int, c *Config)) *testNet {
	return newTestNet(t, n, seed, func(i int, c *Config) {
		c.TreeFanout = k
		c.LazyThreshold = 1 // rounds announce rather than push bodies
		c.IWantDelay = 1
		c.Rounds = 1
		if tweak != nil {
			tweak(i, c)
		}
	})
}

// With identical views a tree push reaches everyone in about log_k n hops
// with exactly one body per member.
func TestTreePushCoversGroupOnce(t *testing.T) {
	for _, tc := range []struct{ n, k, maxHops int }{
		{2, 4, 1}, {5, 4, 1}, {50, 4, 3}, {50, 7, 2}, {200, 4, 4}, {1000, 6, 4},
	} {
		seeds := uint64(3)
		if tc.n > 200 {
			seeds = 1
		}
		for seed := uint64(1); seed <= seeds; seed++ {
			tn := treeNet(t, tc.n, tc.k, seed, nil)
			m := tn.publish(0, "t", []byte("hello"))
			if got := tn.have(m.Key()); got != tc.n {
				t.Fatalf("n=%d k=%d seed=%d: %d of %d have it after the tree alone", tc.n, tc.k, seed, got, tc.n)
			}
			if tn.gens > tc.maxHops {
				t.Errorf("n=%d k=%d seed=%d: %d hops, want at most %d", tc.n, tc.k, seed, tn.gens, tc.maxHops)
			}
			var sent, dups, tree uint64
			for _, e := range tn.nodes {
				st := e.Stats()
				sent += st.MessagesSent
				dups += st.Duplicates
				tree += st.TreeSent
			}
			if sent != uint64(tc.n-1) || tree != sent || dups != 0 {
				t.Errorf("n=%d k=%d seed=%d: %d bodies sent (%d along the tree), %d duplicates; want %d, all along the tree, none",
					tc.n, tc.k, seed, sent, tree, dups, tc.n-1)
			}
			for i, e := range tn.nodes {
				if i != 0 && e.Stats().TreeSent > uint64(tc.k) {
					t.Errorf("node %d sent %d tree bodies, more than the fanout %d", i, e.Stats().TreeSent, tc.k)
				}
			}
		}
	}
}

// Each message draws its own tree: over many messages the forwarding work
// spreads over the group instead of landing on the same few members.
func TestTreePushSpreadsLoad(t *testing.T) {
	const n, k, msgs = 50, 4, 100
	tn := treeNet(t, n, k, 7, nil)
	for i := 0; i < msgs; i++ {
		tn.publish(0, "t", []byte{byte(i)})
	}
	forwarders := 0
	for i, e := range tn.nodes {
		if i != 0 && e.Stats().TreeSent > 0 {
			forwarders++
		}
	}
	if forwarders < n/2 {
		t.Fatalf("only %d of %d members ever forwarded", forwarders, n-1)
	}
}

// Members that do not know part of the group, and a dead member that
// swallows its subtree: the tree misses some, and the rounds' announcements
// and pull repair them.
func TestTreePushRepairsPartialViewsAndDeadMembers(t *testing.T) {
	const n = 60
	tn := treeNet(t, n, 4, 3, func(i int, c *Config) {
		if i%5 == 1 { // every fifth member knows only half the group
			s := c.Sampler.(*StaticSampler)
			s.Peers = s.Peers[:len(s.Peers)/2]
		}
	})
	tn.down[7], tn.down[8] = true, true
	m := tn.publish(0, "t", []byte("x"))
	first := tn.have(m.Key())
	if r := tn.runUntil(m.Key(), 20); r > 20 {
		t.Fatalf("repair did not reach everyone: %d of %d", tn.have(m.Key()), tn.live())
	}
	t.Logf("tree alone reached %d of %d live members; repair finished the rest", first, tn.live())
	for i, a := range tn.apps {
		if !tn.down[i] && len(a.got) != 1 {
			t.Fatalf("node %d delivered %d times", i, len(a.got))
		}
	}
}

// Members the transport reports unreachable are routed around: the tree
// alone still reaches every live member.
func TestTreePushRoutesAroundUnreachable(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		tn := treeNet(t, 50, 4, seed, nil)
		tn.unreach = map[int]bool{}
		for _, i := range []int{3, 11, 12, 29, 40, 41, 42} {
			tn.down[i], tn.unreach[i] = true, true
		}
		m := tn.publish(0, "t", []byte("x"))
		if got := tn.have(m.Key()); got != tn.live() {
			t.Fatalf("seed %d: the tree alone reached %d of %d live members", seed, got, tn.live())
		}
		if tn.dropped != 0 {
			t.Fatalf("seed %d: %d frames sent to unreachable members", seed, tn.dropped)
		}
	}
}

// A member that got a message outside the tree still serves its subtree
// when the tree body arrives later, and never delivers twice.
func TestTreePushDuplicateWithArcForwards(t *testing.T) {
	tn := treeNet(t, 3, 4, 1, nil)
	a, b, c := tn.nodes[0], tn.nodes[1], tn.nodes[2]
	m, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil // the origin's tree bodies are lost
	// b gets the body from a pull answer first.
	f := &Frame{Messages: []*Message{m}}
	if err := b.Step(a.ID(), EncodeFrame(f)); err != nil {
		t.Fatal(err)
	}
	if len(tn.queue) != 0 {
		t.Fatalf("a body from outside the tree was pushed on: %d frames", len(tn.queue))
	}
	// Then the tree body, whose arc is the whole ring.
	tf := &Frame{Tree: []TreeMessage{{Msg: m, End: RingPos(b.ID())}}}
	if err := b.Step(a.ID(), EncodeFrame(tf)); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if !c.Has(m.Key()) {
		t.Fatal("the late tree body was not forwarded to the rest of the arc")
	}
	if got := len(tn.apps[1].got); got != 1 {
		t.Fatalf("b delivered %d times", got)
	}
	// A second tree body is a plain duplicate now.
	if err := b.Step(a.ID(), EncodeFrame(tf)); err != nil {
		t.Fatal(err)
	}
	if len(tn.queue) != 0 {
		t.Fatal("a member forwarded along the tree twice")
	}
}

// Without a PeerLister the engine falls back to random eager push.
func TestTreePushFallsBackWithoutLister(t *testing.T) {
	tn := treeNet(t, 30, 4, 5, func(i int, c *Config) {
		c.Sampler = plainSampler{c.Sampler}
	})
	m := tn.publish(0, "t", []byte("x"))
	var tree uint64
	for _, e := range tn.nodes {
		tree += e.Stats().TreeSent
	}
	if tree != 0 {
		t.Fatalf("%d tree bodies without a lister", tree)
	}
	if r := tn.runUntil(m.Key(), 30); r > 30 {
		t.Fatal("random push did not finish")
	}
}

type plainSampler struct{ s PeerSampler }

func (p plainSampler) Sample(dst []NodeID, k int) []NodeID { return p.s.Sample(dst, k) }
func (p plainSampler) Size() int                           { return p.s.Size() }

// IWantDelay holds the request for an announced body for that many ticks,
// and drops it if the body arrives meanwhile.
func TestIWantDelay(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(i int, c *Config) { c.IWantDelay = 2 })
	a, b := tn.nodes[0], tn.nodes[1]
	m, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	ihave := EncodeFrame(&Frame{IHave: []MsgKey{m.Key()}})
	iwants := func() uint64 { return b.Stats().IWantsSent }
	if err := b.Step(a.ID(), ihave); err != nil {
		t.Fatal(err)
	}
	if iwants() != 0 {
		t.Fatal("IWANT sent before the delay")
	}
	b.Tick()
	if iwants() != 0 {
		t.Fatal("IWANT sent after one tick of two")
	}
	b.Tick()
	if iwants() != 1 {
		t.Fatalf("IWANTs after the delay: %d, want 1", iwants())
	}
	tn.queue = nil
	if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
		t.Fatal(err) // the answer
	}

	// A second message whose body arrives within the delay is never asked for.
	m2, _ := a.Publish("t", []byte("y"))
	tn.queue = nil
	if err := b.Step(a.ID(), EncodeFrame(&Frame{IHave: []MsgKey{m2.Key()}})); err != nil {
		t.Fatal(err)
	}
	if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{m2}})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		b.Tick()
	}
	if iwants() != 1 {
		t.Fatalf("IWANT sent for a body that arrived within the delay (%d)", iwants())
	}
}

// TestIWantAskedAgain: an announced body whose IWANT (or answer) is lost
// is asked for again after IWantTimeout, of the only announcer if no other
// is known, three times in all before it is left to pull.
func TestIWantAskedAgain(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(i int, c *Config) { c.IWantDelay, c.IWantTimeout = 0, 2 })
	a, b := tn.nodes[0], tn.nodes[1]
	m, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	if err := b.Step(a.ID(), EncodeFrame(&Frame{IHave: []MsgKey{m.Key()}})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		tn.queue = nil // every IWANT lost
		b.Tick()
	}
	st := b.Stats()
	if st.IWantsSent != minWantAsks || st.WantsRepeated != minWantAsks-1 || st.WantsExpired != 1 {
		t.Fatalf("IWANTs %d (repeated %d), expired %d; want %d, %d, 1", st.IWantsSent, st.WantsRepeated, st.WantsExpired, minWantAsks, minWantAsks-1)
	}
}

func TestTreeMessageWire(t *testing.T) {
	m := &Message{Origin: "o", Seq: 9, Topic: "t", Payload: []byte("p"), Auth: []byte("s")}
	b := EncodeFrame(&Frame{Tree: []TreeMessage{{Msg: m, End: 0xfedcba9876543210}}})
	f, err := DecodeFrame(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tree) != 1 || f.Tree[0].End != 0xfedcba9876543210 || f.Tree[0].Msg.Key() != m.Key() || string(f.Tree[0].Msg.Payload) != "p" {
		t.Fatalf("round trip: %+v", f.Tree)
	}
	if len(f.Messages) != 0 {
		t.Fatal("a tree message decoded as a plain one")
	}
	short := AppendRecord(NewFrame(nil), RecTreeMessage, []byte{1, 2, 3})
	if _, err := DecodeFrame(short, DefaultLimits()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short tree record: %v", err)
	}
	bad := AppendRecord(NewFrame(nil), RecTreeMessage, append(make([]byte, 8), 0xff))
	if _, err := DecodeFrame(bad, DefaultLimits()); err == nil {
		t.Fatal("a malformed message inside a tree record decoded")
	}
}

// The children of a member are the heads of near-equal chunks of the peers
// strictly inside its arc, each handed the next head as its arc's end.
func TestTreeChildrenChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	peers := make([]NodeID, 20)
	for i := range peers {
		peers[i] = nodeName(i + 1)
	}
	c := DefaultConfig()
	c.ID, c.TreeFanout, c.Rand = nodeName(0), 3, rng
	c.Sampler = &StaticSampler{Peers: peers, Rand: rng}
	c.Transport = &netTransport{n: &testNet{byID: map[NodeID]int{}}}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if !e.refreshRing() {
		t.Fatal("static sampler is a lister")
	}
	self := RingPos(c.ID)
	kids := e.treeChildren(false, self, "", "")
	if len(kids) != 3 {
		t.Fatalf("%d children", len(kids))
	}
	// Chunks of 20 peers into 3: 6, 7, 7 (heads at 0, 6, 13 of the arc).
	var arc []ringPeer
	for _, p := range e.ring {
		if inArc(p.pos, self, self) {
			arc = append(arc, p)
		}
	}
	// order the arc clockwise from self
	start := 0
	for start < len(arc) && arc[start].pos < self {
		start++
	}
	arc = append(arc[start:], arc[:start]...)
	want := []treeChild{{arc[0].id, arc[6].pos}, {arc[6].id, arc[13].pos}, {arc[13].id, self}}
	for i := range want {
		if kids[i] != want[i] {
			t.Fatalf("child %d = %+v, want %+v", i, kids[i], want[i])
		}
	}
}
