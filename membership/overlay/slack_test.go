package overlay

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// neighborRequests decodes the NEIGHBOR requests a node sent (from the
// memnet log): the flags of each.
func neighborRequests(t *testing.T, net *memnet, from core.NodeID) []byte {
	t.Helper()
	var flags []byte
	for _, s := range net.log {
		if s.from != from {
			continue
		}
		f, err := core.DecodeFrame(s.frame, core.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Records {
			if r.Type == RecNeighbor {
				m, err := decodeRecord(r.Type, r.Body, 64)
				if err != nil {
					t.Fatal(err)
				}
				flags = append(flags, m.flags)
			}
		}
	}
	return flags
}

// TestActiveSlack: with ActiveSlack a node aims at ActiveMax−ActiveSlack
// neighbours and stops asking there, but takes low-priority requests, join
// offers and joiners without evicting up to ActiveMax, and refuses beyond.
func TestActiveSlack(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) { c.ActiveMax, c.ActiveMin, c.ActiveSlack = 6, 2, 2 })
	if a.Target() != 4 {
		t.Fatalf("target %d, want ActiveMax−ActiveSlack = 4", a.Target())
	}
	for i := 0; i < 8; i++ {
		a.addPassive(nid(i), nil)
	}
	for i := 0; i < 4; i++ {
		a.addActive(nid(i), false)
	}
	net.log = net.log[:0]
	a.Tick()
	if got := neighborRequests(t, net, "a"); len(got) != 0 {
		t.Fatalf("at its target a node sent %d requests", len(got))
	}
	for i := 10; i < 14; i++ {
		a.onNeighbor(nid(i), false)
	}
	if a.ActiveLen() != 6 || a.Stats().Evictions != 0 || a.Stats().NeighborRejected != 2 {
		t.Fatalf("active %d, evictions %d, rejected %d: want 6 (up to ActiveMax), 0, 2",
			a.ActiveLen(), a.Stats().Evictions, a.Stats().NeighborRejected)
	}
	// A high-priority request still evicts at the cap.
	a.onNeighbor("h", true)
	if !a.IsActive("h") || a.ActiveLen() != 6 || a.Stats().Evictions != 1 {
		t.Fatalf("high-priority request: active %v, evictions %d", a.Active(nil), a.Stats().Evictions)
	}

	// Invalid slack.
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "x", memTransport{}
	cfg.ActiveSlack = cfg.ActiveMax - cfg.ActiveMin + 1
	if _, err := New(cfg); err == nil {
		t.Fatal("ActiveSlack above ActiveMax−ActiveMin accepted")
	}
}

// TestSlackUrgentRequests: with ActiveSlack, a node at or above ActiveMin
// but two or more short of its target asks with high priority (a full
// receiver evicts a neighbour that is then above its own target anyway);
// one short, it asks with low priority; without slack, always low above
// ActiveMin.
func TestSlackUrgentRequests(t *testing.T) {
	for _, slack := range []int{0, 2} {
		net := newMemnet()
		a := net.add(t, "a", func(c *Config) {
			c.ActiveMax, c.ActiveMin, c.ActiveSlack = 8, 2, slack
			c.LowPriorityPending, c.MaxPending = 1, 1
		})
		target := a.Target()
		for i := 0; i < 20; i++ {
			a.addPassive(nid(100+i), nil)
		}
		for i := 0; i < target-3; i++ {
			a.addActive(nid(i), false)
		}
		var want []byte
		for short := 3; short >= 1; short-- {
			net.log = net.log[:0]
			a.pending = a.pending[:0]
			a.Tick()
			got := neighborRequests(t, net, "a")
			w := byte(0)
			if slack > 0 && short >= 2 {
				w = flagHigh
			}
			want = append(want[:0], w)
			if len(got) != 1 || got[0] != want[0] {
				t.Fatalf("slack %d, %d short of target %d: requests %v, want %v", slack, short, target, got, want)
			}
			a.addActive(nid(50+short), false)
		}
	}
}

// TestHighRequestsOncePerTick: a node below ActiveMin whose only candidate
// rejects its high-priority requests (a full node that spent its
// evictions for the tick) asks again the next tick, not over and over
// within one.
func TestHighRequestsOncePerTick(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) { c.ActiveMin, c.ActiveMax = 4, 4 })
	b := net.add(t, "b", func(c *Config) { c.ActiveMin, c.ActiveMax, c.EvictionsPerTick = 1, 1, 0 })
	b.addActive("z", false)
	a.addPassive("b", nil)
	a.Tick()
	net.run(t)
	if n := len(neighborRequests(t, net, "a")); n != 1 {
		t.Fatalf("%d requests within one tick, want 1", n)
	}
	net.tick(t, 3)
	if n := len(neighborRequests(t, net, "a")); n != 4 {
		t.Fatalf("%d requests over four ticks, want 4", n)
	}
}

// link makes a and b neighbours of each other.
func link(a, b *Overlay) {
	a.addActive(b.ID(), false)
	b.addActive(a.ID(), false)
}

// TestSpliceAtTarget: a join walk that ends at a node holding its target
// splices the joiner into one of its links: the node keeps its size, the
// neighbour it dropped links to the joiner instead, and the joiner gains
// two neighbours. Below its target the node simply grows.
func TestSpliceAtTarget(t *testing.T) {
	for _, atTarget := range []bool{true, false} {
		net := newMemnet()
		tweak := func(c *Config) { c.ActiveMax, c.ActiveMin, c.ActiveSlack = 8, 2, 2 }
		x := net.add(t, "x", tweak)
		j := net.add(t, "j", tweak)
		k := x.Target()
		if !atTarget {
			k--
		}
		var others []*Overlay
		for i := 0; i < k; i++ {
			o := net.add(t, nid(i), tweak)
			link(x, o)
			others = append(others, o)
		}
		// The others hold their targets too (each other and x), so none
		// of them asks for more on its own.
		for i, o := range others {
			for _, p := range others[i+1:] {
				link(o, p)
			}
		}
		x.acceptJoiner("j")
		x.flush()
		net.run(t)
		if !x.IsActive("j") || !j.IsActive("x") {
			t.Fatalf("at target %v: the offer was not taken: x %v, j %v", atTarget, x.Active(nil), j.Active(nil))
		}
		if !atTarget {
			if x.ActiveLen() != k+1 || j.ActiveLen() != 1 || x.Stats().SplicesSent != 0 {
				t.Fatalf("below target: x holds %d (want %d), j %d (want 1), splices %d", x.ActiveLen(), k+1, j.ActiveLen(), x.Stats().SplicesSent)
			}
			continue
		}
		if x.ActiveLen() != k || j.ActiveLen() != 2 || x.Stats().SplicesSent != 1 {
			t.Fatalf("at target: x holds %d (want %d), j %d (want 2), splices %d", x.ActiveLen(), k, j.ActiveLen(), x.Stats().SplicesSent)
		}
		moved := 0
		for _, o := range others {
			if o.IsActive("j") {
				moved++
				if o.IsActive("x") || x.IsActive(o.ID()) || o.Stats().SpliceRequests != 1 {
					t.Fatalf("%s: still linked to x, or asked j %d times", o.ID(), o.Stats().SpliceRequests)
				}
			}
		}
		if moved != 1 {
			t.Fatalf("%d of x's neighbours moved to j, want 1", moved)
		}
		for _, o := range append(others, x, j) {
			checkInvariants(t, o)
		}
	}
}

// TestSpliceIsAClaim: a SPLICE counts only from a neighbour, ends that
// neighbour's link (so one per link), and is acted on only for a joiner
// that is not this node, the sender or a neighbour.
func TestSpliceIsAClaim(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) { c.ActiveMax, c.ActiveMin, c.ActiveSlack = 4, 1, 1 })
	for _, id := range []core.NodeID{"b", "c", "d"} {
		link(a, net.add(t, id, nil))
	}
	splice := func(from, joiner core.NodeID) {
		t.Helper()
		if err := a.Step(from, frame(func(d []byte) []byte { return appendSplice(d, joiner) })); err != nil {
			t.Fatal(err)
		}
	}
	splice("stranger", "j") // not a neighbour: nothing
	if st := a.Stats(); st.SpliceRequests != 0 || st.SpliceRefused != 1 || a.ActiveLen() != 3 {
		t.Fatalf("from a stranger: spliced requests %d, refused %d, active %d", st.SpliceRequests, st.SpliceRefused, a.ActiveLen())
	}
	splice("b", "a") // names this node: the link ends, no request
	splice("c", "d") // names a neighbour: the same
	if st := a.Stats(); st.SpliceRequests != 0 || st.SpliceRefused != 3 || a.IsActive("b") || a.IsActive("c") {
		t.Fatalf("bad joiners: spliced requests %d, refused %d, active %v", st.SpliceRequests, st.SpliceRefused, a.Active(nil))
	}
	splice("d", "j") // from a neighbour: its link ends, one low-priority request to j
	if st := a.Stats(); st.SpliceRequests != 1 || a.pendingIndex("j") < 0 || a.pending[a.pendingIndex("j")].high || a.IsActive("d") {
		t.Fatalf("spliced requests %d, pending %v, active %v: want one low-priority request to j and d gone", st.SpliceRequests, a.pending, a.Active(nil))
	}
	splice("d", "k") // again from d, no longer a neighbour: nothing
	if st := a.Stats(); st.SpliceRequests != 1 || st.SpliceRefused != 4 || a.pendingIndex("k") >= 0 {
		t.Fatalf("a second SPLICE over the same link acted on: spliced requests %d", st.SpliceRequests)
	}
}

// TestUrgentRequestsOncePerTick: the same for a node at or above
// ActiveMin that asks with high priority because it is two or more short
// of its target (ActiveSlack).
func TestUrgentRequestsOncePerTick(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) { c.ActiveMin, c.ActiveMax, c.ActiveSlack = 1, 6, 2 })
	b := net.add(t, "b", func(c *Config) { c.ActiveMin, c.ActiveMax, c.EvictionsPerTick = 1, 1, 0 })
	b.addActive("z", false)
	a.addActive("y", false)
	a.addPassive("b", nil)
	a.Tick()
	net.run(t)
	if got := neighborRequests(t, net, "a"); len(got) != 1 || got[0] != flagHigh {
		t.Fatalf("requests within one tick %v, want one with high priority", got)
	}
	net.tick(t, 3)
	if n := len(neighborRequests(t, net, "a")); n != 4 {
		t.Fatalf("%d requests over four ticks, want 4", n)
	}
}
