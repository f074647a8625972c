package membership

import "testing"

// TestLagHoldsVerdicts: a member whose inbound frames are read 12 ticks
// late (its process short of CPU; the probe timeout is 5 ticks) times out
// its probes and suspects healthy members. When its owner reports the lag
// (ReportLag, as p2p's driver does for frames that waited in its inbox),
// those probes are inconclusive, it suspects nobody and declares nobody
// dead, and its local health score rises. Once the lag is over it detects
// a real crash again.
func TestLagHoldsVerdicts(t *testing.T) {
	const n, slow, lagTicks = 8, 0, 12
	run := func(report bool) (*cluster, Stats) {
		c := newCluster(t, n, 5, nil)
		c.joinAll()
		c.runUntil(3000, "convergence", c.converged)
		c.slow[slow] = lagTicks
		for k := 0; k < 400; k++ {
			if report {
				c.nodes[slow].ReportLag(lagTicks)
			}
			c.run(1)
		}
		return c, c.nodes[slow].Stats()
	}
	_, unreported := run(false)
	if unreported.Suspicions == 0 {
		t.Fatal("without lag reports the slow member suspected nobody: the test shows nothing")
	}
	c, st := run(true)
	if st.Suspicions != 0 || st.Declared != 0 {
		t.Fatalf("with lag reports the slow member raised %d suspicions and declared %d dead", st.Suspicions, st.Declared)
	}
	if st.ProbesInconclusive == 0 || st.LagReports == 0 {
		t.Fatalf("inconclusive probes %d, lag reports %d", st.ProbesInconclusive, st.LagReports)
	}
	if c.nodes[slow].Health() < 2 {
		t.Fatalf("local health multiplier %d, want it raised", c.nodes[slow].Health())
	}
	for i, e := range c.events {
		if c.evNode[i] == slow && e.Kind == EventFail {
			t.Fatalf("the slow member declared %s failed", e.Member.ID)
		}
	}
	// The lag ends; a member crashes: the once-slow member learns of it.
	delete(c.slow, slow)
	c.run(3 * lagTicks)
	const victim = 3
	c.down[victim] = true
	c.runUntil(2000, "the crash known to the once-slow member", func() bool {
		m, ok := c.nodes[slow].Member(nodeID(victim))
		return ok && m.State == StateDead
	})
}

// TestLagHoldsVerdictsOnlyForTheLag: a verdict whose timer expired waits
// as many ticks as the lag reported, not a probe period stretched by the
// health multiplier the same lag raises (which held a loaded group's
// verdicts for seconds: p2pscale -n 200 declared crashes after a median
// 9.7 s). Probes stay inconclusive for the longer window.
func TestLagHoldsVerdictsOnlyForTheLag(t *testing.T) {
	c := newCluster(t, 4, 11, nil)
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	m := c.nodes[0]
	const lag = 3
	for r := 0; r < 3; r++ { // lag reports a period apart raise the health multiplier
		m.ReportLag(lag)
		c.run(m.cfg.ProbeInterval)
	}
	m.ReportLag(lag)
	if w := m.lagWindow(); w <= lag+1 {
		t.Fatalf("probe window %d: the test needs it longer than the lag", w)
	}
	for k := 0; k <= lag; k++ {
		if !m.verdictHeld() {
			t.Fatalf("%d ticks after a lag of %d: verdict not held", k, lag)
		}
		c.run(1)
	}
	if m.verdictHeld() {
		t.Fatalf("%d ticks after a lag of %d: verdict still held (probe window %d)", lag+1, lag, m.lagWindow())
	}
	if !m.laggedWithin(m.lagWindow()) {
		t.Fatal("probes no longer held within the probe window")
	}
	// A later, longer lag extends the hold.
	m.ReportLag(lag)
	c.run(1)
	m.ReportLag(2 * lag)
	for k := 0; k <= 2*lag; k++ {
		if !m.verdictHeld() {
			t.Fatalf("%d ticks after a lag of %d: verdict not held", k, 2*lag)
		}
		c.run(1)
	}
}

// TestSlowMemberGossipsLess: a member that reports lag, its health
// multiplier raised, sends its dedicated gossip frames that many times less
// often; a member whose health rose without lag (lost frames) does not.
func TestSlowMemberGossipsLess(t *testing.T) {
	const lagTicks = 12
	gossips := func(health int, lag bool) uint64 {
		c := newCluster(t, 8, 9, nil)
		c.joinAll()
		c.runUntil(3000, "convergence", c.converged)
		m := c.nodes[0]
		before := m.Stats().GossipsSent
		for k := 0; k < 200; k++ {
			if lag {
				m.ReportLag(lagTicks)
			}
			m.health = health // held there (acks would lower it)
			// Keep updates queued: a fresh one every tick.
			m.enqueue(nodeID(1), RecAlive, appendAlive(nil, aliveMsg{id: nodeID(1), inc: uint64(k)}))
			c.run(1)
		}
		return m.Stats().GossipsSent - before
	}
	healthy, lagging, lossy := gossips(0, false), gossips(3, true), gossips(3, false)
	t.Logf("dedicated gossip frames in 200 ticks: healthy %d, lagging (multiplier 4) %d, health raised without lag %d", healthy, lagging, lossy)
	if healthy == 0 {
		t.Fatal("a healthy member with updates queued sent no dedicated gossip: the test shows nothing")
	}
	if lagging == 0 || healthy/lagging < 3 {
		t.Fatalf("a lagging member sent %d dedicated gossip frames against a healthy one's %d, want about a quarter", lagging, healthy)
	}
	if lossy != healthy {
		t.Fatalf("health raised without lag: %d dedicated gossip frames, want the healthy member's %d", lossy, healthy)
	}
}
