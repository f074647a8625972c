package overlay

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// memnet is a tiny synchronous network for unit tests: Send queues, run
// delivers until quiet. Frames to unknown IDs or dropped nodes vanish.
type memnet struct {
	nodes map[core.NodeID]*Overlay
	down  map[core.NodeID]bool
	queue []sent
	log   []sent // every frame sent, for inspection
}

type sent struct {
	from, to core.NodeID
	frame    []byte
}

type memTransport struct {
	net  *memnet
	self core.NodeID
}

func (t memTransport) Send(to core.NodeID, frame []byte) {
	s := sent{from: t.self, to: to, frame: frame}
	t.net.queue = append(t.net.queue, s)
	t.net.log = append(t.net.log, s)
}

func newMemnet() *memnet {
	return &memnet{nodes: map[core.NodeID]*Overlay{}, down: map[core.NodeID]bool{}}
}

func (n *memnet) add(t testing.TB, id core.NodeID, tweak func(*Config)) *Overlay {
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Transport = memTransport{net: n, self: id}
	cfg.Seed = 7
	if tweak != nil {
		tweak(&cfg)
	}
	ov, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.nodes[id] = ov
	return ov
}

// linkedPair returns a memnet with two overlays, "a" and "b", joined into
// one link.
func linkedPair(t testing.TB) (*memnet, *Overlay, *Overlay) {
	net := newMemnet()
	a := net.add(t, "a", nil)
	b := net.add(t, "b", nil)
	a.Join("b")
	net.run(t)
	return net, a, b
}

func (n *memnet) run(t testing.TB) {
	for steps := 0; len(n.queue) > 0; steps++ {
		if steps > 1_000_000 {
			t.Fatal("memnet: no quiescence")
		}
		s := n.queue[0]
		n.queue = n.queue[1:]
		if n.down[s.to] || n.down[s.from] {
			continue
		}
		if ov := n.nodes[s.to]; ov != nil {
			if err := ov.Step(s.from, s.frame); err != nil {
				t.Fatalf("%s -> %s: %v", s.from, s.to, err)
			}
		}
	}
}

func (n *memnet) tick(t testing.TB, k int) {
	ids := make([]core.NodeID, 0, len(n.nodes))
	for id := range n.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for ; k > 0; k-- {
		for _, id := range ids {
			if !n.down[id] {
				n.nodes[id].Tick()
			}
		}
		n.run(t)
	}
}

// frame builds a frame of records.
func frame(recs ...func([]byte) []byte) []byte {
	b := core.NewFrame(nil)
	for _, r := range recs {
		b = r(b)
	}
	return b
}

func nid(i int) core.NodeID { return core.NodeID(fmt.Sprintf("n%d", i)) }

func checkInvariants(t testing.TB, ov *Overlay) {
	t.Helper()
	if len(ov.active) > ov.cfg.ActiveMax || len(ov.passive) > ov.cfg.PassiveMax || len(ov.pending) > ov.cfg.ActiveMax {
		t.Fatalf("%v: views over their caps", ov)
	}
	seen := map[core.NodeID]bool{}
	for _, p := range ov.active {
		if p.id == ov.self || p.id == "" || seen[p.id] {
			t.Fatalf("bad active entry %q", p.id)
		}
		seen[p.id] = true
	}
	for _, id := range ov.passive {
		if id == ov.self || id == "" || seen[id] {
			t.Fatalf("bad passive entry %q (self, empty, duplicate or active)", id)
		}
		seen[id] = true
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(DefaultConfig()); err == nil {
		t.Fatal("config without ID and Transport accepted")
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "a", memTransport{}
	cfg.ActiveMin = cfg.ActiveMax + 1
	if _, err := New(cfg); err == nil {
		t.Fatal("ActiveMin > ActiveMax accepted")
	}
}

func TestActiveTarget(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 16}, {1, 16}, {2, 10}, {20, 14}, {54, 16}, {1000, 16}, {100000, 16}} {
		if got := ActiveTarget(c.n, 8, 16); got != c.want {
			t.Errorf("ActiveTarget(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	if got := ActiveTarget(3, 12, 32); got != 12 {
		t.Errorf("ActiveTarget(3, 12, 32) = %d, want the minimum 12", got)
	}
}

func TestJoinSmall(t *testing.T) {
	net := newMemnet()
	var ups, downs []string
	for i := 0; i < 6; i++ {
		id := nid(i)
		net.add(t, id, func(c *Config) {
			c.OnUp = func(p core.NodeID) { ups = append(ups, string(id)+">"+string(p)) }
			c.OnDown = func(p core.NodeID, why Reason) { downs = append(downs, string(id)+">"+string(p)+":"+why.String()) }
		})
	}
	for i := 1; i < 6; i++ {
		net.nodes[nid(i)].Join(nid(0))
		net.run(t)
	}
	net.tick(t, 50)
	for i := 0; i < 6; i++ {
		ov := net.nodes[nid(i)]
		checkInvariants(t, ov)
		if ov.ActiveLen() != 5 {
			t.Errorf("%v: want all 5 others active (group smaller than the target)", ov)
		}
		for _, p := range ov.Active(nil) {
			if !net.nodes[p].IsActive(ov.ID()) {
				t.Errorf("asymmetric link %s-%s", ov.ID(), p)
			}
		}
	}
	if len(ups) != 30 || len(downs) != 0 {
		t.Errorf("OnUp %d calls (want 30), OnDown %v", len(ups), downs)
	}
}

// TestSilentCrash: a neighbour that goes silent is pinged, declared failed
// after FailTicks and replaced from the passive view.
func TestSilentCrash(t *testing.T) {
	net := newMemnet()
	var failed []core.NodeID
	a := net.add(t, "a", func(c *Config) {
		c.ActiveMax, c.ActiveMin = 2, 1
		c.OnDown = func(p core.NodeID, why Reason) {
			if why == Failed {
				failed = append(failed, p)
			}
		}
	})
	for _, id := range []core.NodeID{"b", "c", "d"} {
		net.add(t, id, func(c *Config) { c.ActiveMax, c.ActiveMin = 2, 1 })
	}
	a.Join("b")
	net.run(t)
	net.nodes["c"].Join("b")
	net.run(t)
	net.nodes["d"].Join("c")
	net.run(t)
	net.tick(t, 5)
	if a.ActiveLen() == 0 {
		t.Fatalf("%v: no neighbour", a)
	}
	victim := a.Active(nil)[0]
	net.down[victim] = true
	for k := 0; k < a.cfg.FailTicks+a.cfg.RequestTimeout+5 && !slices.Contains(failed, victim); k++ {
		net.tick(t, 1)
	}
	if !slices.Contains(failed, victim) {
		t.Fatalf("%s not declared failed: %v", victim, a)
	}
	if a.Stats().PingsSent == 0 || a.Stats().KeepaliveFailures == 0 {
		t.Errorf("stats %+v", a.Stats())
	}
	net.tick(t, 3*a.cfg.RequestTimeout)
	if a.ActiveLen() == 0 || a.IsActive(victim) {
		t.Errorf("%v: not refilled: %v", a, a.Active(nil))
	}
	checkInvariants(t, a)
}

// TestPeerDown: the owner's report replaces a neighbour at once.
func TestPeerDown(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) { c.ActiveMax, c.ActiveMin = 1, 1 })
	net.add(t, "b", nil)
	net.add(t, "c", nil)
	a.Join("b")
	net.run(t)
	a.addPassive("c", nil)
	net.down["b"] = true
	a.PeerDown("b")
	net.run(t)
	if !a.IsActive("c") || a.IsActive("b") || a.passiveIndex("b") >= 0 {
		t.Fatalf("%v: active %v passive %v", a, a.Active(nil), a.Passive(nil))
	}
	if !net.nodes["c"].IsActive("a") {
		t.Fatal("c did not accept a's high-priority request")
	}
}

// TestPeerDownJitter: with RefillJitterTicks a failed neighbour is replaced
// within that many ticks rather than at once, unless the view fell below
// ActiveMin.
func TestPeerDownJitter(t *testing.T) {
	for _, activeMin := range []int{1, 2} {
		net := newMemnet()
		a := net.add(t, "a", func(c *Config) { c.ActiveMax, c.ActiveMin, c.RefillJitterTicks = 2, activeMin, 50 })
		for _, id := range []core.NodeID{"b", "c", "d"} {
			net.add(t, id, nil)
		}
		a.Join("b")
		net.run(t)
		net.nodes["c"].Join("a")
		net.run(t)
		if !a.IsActive("b") || !a.IsActive("c") {
			t.Fatalf("setup: %v", a.Active(nil))
		}
		net.tick(t, 1)
		a.addPassive("d", nil)
		requests := a.Stats().NeighborRequests
		net.down["b"] = true
		a.PeerDown("b")
		net.run(t)
		deferred := a.nextFill > a.now
		switch {
		case activeMin == 2 && (deferred || !a.IsActive("d")):
			t.Fatalf("below ActiveMin: not replaced at once (next fill %d, now %d, active %v)", a.nextFill, a.now, a.Active(nil))
		case activeMin == 1 && (!deferred || a.IsActive("d") || a.Stats().NeighborRequests != requests):
			t.Fatalf("replaced at once (next fill %d, now %d, active %v)", a.nextFill, a.now, a.Active(nil))
		}
		for k := 0; k < 50 && !a.IsActive("d"); k++ {
			net.tick(t, 1)
		}
		if !a.IsActive("d") {
			t.Fatalf("ActiveMin %d: not replaced within RefillJitterTicks: %v", activeMin, a.Active(nil))
		}
	}
}

// TestAsymmetryRepair: a node that believes in a link the other end has
// dropped (its answer or DISCONNECT was lost) finds out at its first ping:
// the other end takes the link back if it has room, and otherwise answers
// DISCONNECT.
func TestAsymmetryRepair(t *testing.T) {
	for _, full := range []bool{false, true} {
		net := newMemnet()
		a := net.add(t, "a", nil)
		b := net.add(t, "b", func(c *Config) { c.ActiveMax, c.ActiveMin = 1, 1 })
		a.Join("b")
		net.run(t)
		// b drops a without telling it.
		b.removeActive(b.activeIndex("a"), Disconnected)
		if full {
			b.addActive("c", false)
		}
		net.log = net.log[:0]
		net.tick(t, a.cfg.KeepaliveTicks+1)
		if a.IsActive("b") != b.IsActive("a") {
			t.Fatalf("full %v: not repaired: a %v, b %v", full, a.Active(nil), b.Active(nil))
		}
		// Full, b answers DISCONNECT (a, now without neighbours, then asks
		// with high priority and b makes room).
		disconnected := false
		for _, s := range net.log {
			if s.from == "b" && s.to == "a" && len(s.frame) > 1 && s.frame[1] == RecDisconnect {
				disconnected = true
			}
		}
		if disconnected != full {
			t.Errorf("full %v: DISCONNECT sent %v", full, disconnected)
		}
		if b.Stats().AsymmetryRepaired != 1 {
			t.Errorf("b stats %+v", b.Stats())
		}
	}
}

// TestLeave: neighbours forget a leaving node entirely.
func TestLeave(t *testing.T) {
	net, a, b := linkedPair(t)
	a.Leave()
	net.run(t)
	if b.ActiveLen() != 0 || b.PassiveLen() != 0 || a.ActiveLen() != 0 {
		t.Fatalf("after leave: a %v, b %v / %v", a, b, b.Passive(nil))
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []string {
		c := newCluster(t, 200, 42, 0.01, nil)
		c.joinAll(20, 30)
		c.net.CrashFraction(0.3)
		c.runTicks(60)
		var out []string
		for _, ov := range c.nodes {
			out = append(out, fmt.Sprint(ov.Active(nil), ov.Passive(nil)))
		}
		return out
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
}

// TestLoss: with 5 % of frames lost the overlay still forms, stays
// symmetric (lost answers and DISCONNECTs are repaired by keepalives) and
// recovers from a crash.
func TestLoss(t *testing.T) {
	c := newCluster(t, 500, 3, 0.05, nil)
	c.joinAll(20, 100)
	r := c.check()
	t.Logf("joined at 5%% loss: %v", r)
	if r.components != 1 || r.belowMin != 0 || r.deadActive != 0 || r.badPassive != 0 {
		t.Fatalf("not healthy: %v", r)
	}
	if r.asym > r.live/50 {
		t.Errorf("%d asymmetric links", r.asym)
	}
	c.net.CrashFraction(0.2)
	c.runTicks(100)
	r = c.check()
	t.Logf("100 ticks after crashing 20%%: %v", r)
	if r.components != 1 || r.belowMin != 0 || r.deadActive != 0 {
		t.Fatalf("not recovered: %v", r)
	}
}

// TestHeard: traffic of other layers (any frame, or Heard) keeps a link
// alive without pings.
func TestHeard(t *testing.T) {
	net, a, b := linkedPair(t)
	gossip := frame(func(d []byte) []byte { return core.AppendRecord(d, 0x80, []byte("app")) })
	for k := 0; k < 5*a.cfg.FailTicks; k++ {
		if k%2 == 0 {
			a.Step("b", gossip)
		} else {
			a.Heard("b")
		}
		b.Heard("a")
		net.tick(t, 1)
	}
	if !a.IsActive("b") || a.Stats().PingsSent != 0 || b.Stats().PingsSent != 0 {
		t.Fatalf("a %v, pings %d/%d", a.Active(nil), a.Stats().PingsSent, b.Stats().PingsSent)
	}
	if got := a.Sample(nil, 3); !slices.Equal(got, []core.NodeID{"b"}) {
		t.Errorf("Sample = %v", got)
	}
}

// TestJoinThroughJoinersUnderLoss: nodes join 25 a tick through random
// nodes started before them, some still joining themselves, and 5 % of
// frames are lost. A node whose own JOIN was lost while others joined
// through it has neighbours, but none from the group: it must retry, or it
// and its joiners stay an overlay of their own (before the retry, seeds
// 2 and 3 left 7 and 4 components at n = 200).
func TestJoinThroughJoinersUnderLoss(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		const n, perTick = 200, 25
		c := newCluster(t, n, seed, 0.05, nil)
		c.net.SetHandler(0, &simNode{ov: c.nodes[0], ids: c.ids})
		last := 0
		for i := 1; i < n; i++ {
			at := 1 + (i-1)/perTick
			last = at
			c.net.At(time.Duration(at)*tick+tick/2, func() {
				c.net.SetHandler(i, &simNode{ov: c.nodes[i], ids: c.ids})
				c.nodes[i].Join(c.ids[c.net.Rand().IntN(i)])
			})
		}
		c.runTicks(last + 300)
		if comps, largest := c.components(); comps != 1 {
			t.Errorf("seed %d: %d components after the joins (largest %d of %d)", seed, comps, largest, n)
		}
	}
}

// TestRandomLinksJoinSplitOverlays: two overlays formed apart (as the two
// sides of a partition, or a flash crowd that split) never meet through
// walks, shuffles or refills, which all travel over active links; with
// random links to members drawn from the whole group (RandomPeer, as the
// member list provides) they become one.
func TestRandomLinksJoinSplitOverlays(t *testing.T) {
	for _, linked := range []bool{false, true} {
		const n, half = 60, 30
		var c *cluster
		c = newCluster(t, n, 5, 0, func(cfg *Config) {
			cfg.RandomLinkTicks = 50
			if linked {
				cfg.RandomPeer = func() core.NodeID { return c.ids[c.net.Rand().IntN(n)] }
			}
		})
		for i := 0; i < n; i++ {
			c.net.SetHandler(i, &simNode{ov: c.nodes[i], ids: c.ids})
			if i != 0 && i != half {
				contact := 0
				if i > half {
					contact = half
				}
				c.net.At(time.Duration(1+i%half)*tick, func() { c.nodes[i].Join(c.ids[contact]) })
			}
		}
		c.runTicks(400)
		comps, largest := c.components()
		switch {
		case !linked && comps != 2:
			t.Fatalf("without random links: %d components (largest %d), want the 2 formed apart", comps, largest)
		case linked && comps != 1:
			t.Errorf("with random links: %d components (largest %d of %d), want 1", comps, largest, n)
		}
		if r := c.check(); linked && r.belowMin > 0 {
			t.Errorf("with random links: %s", r)
		}
	}
}

// TestMemberCandidatesRefillStarvedNodes: a, b and c joined one another
// and nothing else, so each holds two neighbours and an empty passive view,
// below ActiveMin; twenty more members exist that none of them has heard of
// in the overlay. Without RandomPeer nothing refills a's view (shuffle
// walks stay among the three); with it, a node whose passive view has no
// candidate asks members drawn from the whole group (the member list) and
// reaches ActiveMin.
func TestMemberCandidatesRefillStarvedNodes(t *testing.T) {
	for _, members := range []bool{false, true} {
		net := newMemnet()
		var others []core.NodeID
		for i := 0; i < 20; i++ {
			net.add(t, nid(i), nil)
			others = append(others, nid(i))
		}
		pick := 0
		a := net.add(t, "a", func(cfg *Config) {
			cfg.RandomLinkTicks = 0
			if members {
				cfg.RandomPeer = func() core.NodeID { pick++; return others[pick%len(others)] }
			}
		})
		net.add(t, "b", nil).Join("a")
		net.run(t)
		net.add(t, "c", nil).Join("a")
		net.run(t)
		net.tick(t, 50)
		got := a.ActiveLen()
		switch {
		case !members && got >= a.cfg.ActiveMin:
			t.Fatalf("without member candidates a reached %d neighbours", got)
		case members && got < a.cfg.ActiveMin:
			t.Errorf("with member candidates a holds %d neighbours, want at least %d", got, a.cfg.ActiveMin)
		}
		if members && a.Stats().MemberCandidates == 0 {
			t.Error("no member candidate counted")
		}
		checkInvariants(t, a)
	}
}
