package overlay

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// A hostile peer speaks the protocol with lies: it cannot push any view
// past its cap, make this node add itself, walk further than the
// configured lengths, or make it do unbounded work per frame or per tick.

func neighbourOf(t *testing.T, tweak func(*Config)) (*memnet, *Overlay, core.NodeID) {
	net := newMemnet()
	a := net.add(t, "a", tweak)
	net.add(t, "evil", nil)
	net.nodes["evil"].Join("a")
	net.run(t)
	if !a.IsActive("evil") {
		t.Fatal("setup: evil not a neighbour")
	}
	delete(net.nodes, "evil") // from now on its frames are hand-made
	return net, a, "evil"
}

func TestHostileForwardJoin(t *testing.T) {
	net, a, evil := neighbourOf(t, nil)
	net.nodes["x"] = nil
	// Not a neighbour: dropped.
	if err := a.Step("stranger", frame(func(b []byte) []byte { return appendForwardJoin(b, "m", 3) })); err != nil {
		t.Fatal(err)
	}
	if a.Stats().NotNeighbor != 1 {
		t.Errorf("walk from a stranger handled: %+v", a.Stats())
	}
	// Naming self: dropped.
	a.Step(evil, frame(func(b []byte) []byte { return appendForwardJoin(b, "a", 3) }))
	if a.ActiveLen() != 1 || a.Stats().SelfDropped == 0 {
		t.Errorf("self-naming walk: %v %+v", a, a.Stats())
	}
	// A huge TTL is clamped (a has no other neighbour, so the walk ends
	// here: a offers m a link, and m, which does not exist, never answers).
	a.Step(evil, frame(func(b []byte) []byte { return appendForwardJoin(b, "m", 1<<60) }))
	if st := a.Stats(); st.TTLClamped != 1 || st.JoinOffers != 1 || a.IsActive("m") {
		t.Errorf("TTL not clamped or m added unconfirmed: %v %+v", a.Active(nil), a.Stats())
	}
	checkInvariants(t, a)
}

// TestHostileFlood: a neighbour floods walk records and distinct joiners:
// per-frame and per-tick budgets hold, views stay capped, evictions are
// bounded per tick.
func TestHostileFlood(t *testing.T) {
	net, a, evil := neighbourOf(t, nil)
	ids := 0
	for tick := 0; tick < 20; tick++ {
		before := a.Stats()
		for f := 0; f < 10; f++ {
			var recs []func([]byte) []byte
			for k := 0; k < 50; k++ {
				ids++
				id := nid(ids)
				if k%2 == 0 {
					recs = append(recs, func(b []byte) []byte { return appendForwardJoin(b, id, 0) })
				} else {
					list := make([]core.NodeID, 40)
					for j := range list {
						list[j] = nid(ids*100 + j)
					}
					recs = append(recs, func(b []byte) []byte { return appendShuffle(b, 1, id, 0, list) })
				}
			}
			if err := a.Step(evil, frame(recs...)); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, a)
		}
		if !a.IsActive(evil) {
			break // evicted by the joiners it pushed in: fine
		}
		after := a.Stats()
		if handled := (after.ForwardJoins - before.ForwardJoins) + (after.ShufflesAnswered - before.ShufflesAnswered); handled > uint64(a.cfg.WalksPerPeerPerTick) {
			t.Fatalf("tick %d: %d walks handled from one neighbour", tick, handled)
		}
		if ev := after.Evictions - before.Evictions; ev > uint64(a.cfg.EvictionsPerTick) {
			t.Fatalf("tick %d: %d evictions", tick, ev)
		}
		a.Tick()
		net.queue = net.queue[:0]
	}
	if a.ActiveLen() != 1 {
		t.Errorf("unconfirmed IDs in the active view: %v", a.Active(nil))
	}
	st := a.Stats()
	if st.RecordsDropped == 0 || st.WalksDropped == 0 || st.ListTruncated == 0 {
		t.Errorf("budgets not exercised: %+v", st)
	}
	t.Logf("%v; stats %+v", a, st)
}

// TestHostileNeighbor: many distinct high-priority requests cannot grow the
// active view past ActiveMax, and evict at most EvictionsPerTick per tick.
func TestHostileNeighbor(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", nil)
	for i := 0; i < 200; i++ {
		if i%20 == 0 {
			a.Tick()
		}
		before := a.Stats().Evictions
		a.Step(nid(i), frame(func(b []byte) []byte { return appendFlags(b, RecNeighbor, flagHigh) }))
		if a.ActiveLen() > a.cfg.ActiveMax {
			t.Fatalf("active view %d > %d", a.ActiveLen(), a.cfg.ActiveMax)
		}
		_ = before
	}
	st := a.Stats()
	if st.Evictions > uint64(10*a.cfg.EvictionsPerTick) {
		t.Errorf("%d evictions over 10 ticks", st.Evictions)
	}
	if st.NeighborRejected == 0 || st.AddRefused == 0 || st.EvictionsDenied == 0 {
		t.Errorf("no refusals: %+v", st)
	}
	checkInvariants(t, a)
	_ = net
}

func TestHostileJoins(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", nil)
	for i := 0; i < 3*a.cfg.JoinsPerTick; i++ {
		a.Step(nid(i), frame(appendJoin))
	}
	if st := a.Stats(); st.JoinsAccepted != uint64(a.cfg.JoinsPerTick) || st.JoinsDropped != uint64(2*a.cfg.JoinsPerTick) {
		t.Errorf("joins per tick not bounded: %+v", st)
	}
	// A repeated JOIN is answered, not walked again.
	n := len(net.log)
	j := a.Active(nil)[0]
	a.Tick()
	net.log = net.log[:0]
	a.Step(j, frame(appendJoin))
	if len(net.log) != 1 || a.Stats().JoinsDuplicate != 1 {
		t.Errorf("repeated JOIN sent %d frames (before: %d)", len(net.log), n)
	}
	// A joiner the full contact did not take is walked for once per
	// JoinRetryTicks, however often it repeats JOIN.
	a.Tick()
	net.log = net.log[:0]
	for k := 0; k < 5; k++ {
		a.Step("again", frame(appendJoin))
	}
	if a.IsActive("again") || len(net.log) != min(a.cfg.JoinWalks, a.ActiveLen()) || a.Stats().JoinsDuplicate != 5 {
		t.Errorf("5 JOINs from one joiner: %d frames, stats %+v", len(net.log), a.Stats())
	}
	checkInvariants(t, a)
}

func TestHostileShuffleReply(t *testing.T) {
	_, a, evil := neighbourOf(t, nil)
	list := []core.NodeID{"p", "q"}
	a.Step(evil, frame(func(b []byte) []byte { return appendShuffleReply(b, 12345, list) }))
	if a.Stats().ShuffleStale != 1 || a.PassiveLen() != 0 {
		t.Errorf("forged shuffle reply merged: %v %+v", a.Passive(nil), a.Stats())
	}
	// The genuine answer to an outstanding shuffle is merged once.
	a.startShuffle()
	nonce := a.shuf.nonce
	a.Step("z", frame(func(b []byte) []byte { return appendShuffleReply(b, nonce, list) }))
	a.Step("z", frame(func(b []byte) []byte { return appendShuffleReply(b, nonce, []core.NodeID{"r"}) }))
	if a.PassiveLen() != 3 || a.Stats().ShuffleStale != 2 {
		t.Errorf("passive %v, stats %+v", a.Passive(nil), a.Stats())
	}
}

func TestAcceptFilter(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) {
		c.Accept = func(id core.NodeID) bool { return id != "banned" }
	})
	a.Step("banned", frame(appendJoin))
	a.Step("banned", frame(func(b []byte) []byte { return appendFlags(b, RecNeighbor, flagHigh) }))
	if a.ActiveLen() != 0 || a.PassiveLen() != 0 || a.Stats().Rejected == 0 {
		t.Errorf("filter ignored: %v %+v", a, a.Stats())
	}
}

func TestMalformed(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", nil)
	for _, f := range [][]byte{
		nil,
		{2},                              // version
		{1, RecForwardJoin, 1, 0},        // empty id
		{1, RecNeighbor, 1, 0x80},        // unknown flag
		{1, RecShuffle, 3, 1, 1, 'x'},    // truncated
		{1, RecShuffleReply, 2, 1, 0x7f}, // list longer than input
		{1, RecSplice, 3, 5, 'a', 'b'},   // id longer than the record
	} {
		if err := a.Step("b", f); err == nil {
			t.Errorf("frame %x accepted", f)
		}
	}
	// An overlay record type this version does not know is skipped.
	if err := a.Step("b", []byte{1, 0x6e, 1, 0}); err != nil || a.Stats().UnknownRecords != 1 {
		t.Errorf("unknown record: %v, %+v", err, a.Stats())
	}
	_ = net
}
