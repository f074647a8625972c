package membership

import "testing"

// TestLagHoldsVerdicts: a member whose inbound frames are read 12 ticks
// late (its process short of CPU; the probe timeout is 5 ticks) times out
// its probes and suspects healthy members. When its owner reports the lag
// (ReportLag, as p2p's driver does for frames that waited in its inbox),
// those probes are inconclusive, it suspects nobody and declares nobody
// dead, and its local health score rises. Once the lag is over it detects
// a real crash again. The targets' other frames, read as late as their
// acks, would answer those probes first (Config.HeardAnswersProbe), so
// the lag's own effect is tested with that rule off, and with it on the
// slow member must still suspect nobody.
func TestLagHoldsVerdicts(t *testing.T) {
	const n, slow, lagTicks = 8, 0, 12
	run := func(report, heard bool) (*cluster, Stats) {
		c := newCluster(t, n, 5, func(_ int, cfg *Config) { cfg.HeardAnswersProbe = heard })
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
	_, unreported := run(false, false)
	if unreported.Suspicions == 0 {
		t.Fatal("without lag reports the slow member suspected nobody: the test shows nothing")
	}
	if _, st := run(true, true); st.Suspicions != 0 || st.Declared != 0 {
		t.Fatalf("with lag reports and frames answering probes, the slow member raised %d suspicions and declared %d dead", st.Suspicions, st.Declared)
	}
	c, st := run(true, false)
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

// TestLagSkipsPingReqs: a member that runs behind asks no helper for
// ping-reqs at its probes' timeouts, since those probes end inconclusive
// whatever the helpers answer; without lag reports it does ask, and once
// the lag is over it asks again (a real crash still goes through
// ping-reqs).
func TestLagSkipsPingReqs(t *testing.T) {
	const n, slow, lagTicks = 8, 0, 12
	run := func(report bool) (*cluster, Stats, Stats) {
		c := newCluster(t, n, 7, func(_ int, cfg *Config) { cfg.HeardAnswersProbe = false })
		c.joinAll()
		c.runUntil(3000, "convergence", c.converged)
		c.slow[slow] = lagTicks
		before := c.nodes[slow].Stats()
		for k := 0; k < 400; k++ {
			if report {
				c.nodes[slow].ReportLag(lagTicks)
			}
			c.run(1)
		}
		return c, before, c.nodes[slow].Stats()
	}
	_, b, a := run(false)
	if a.PingReqsSent == b.PingReqsSent || a.PingReqsSkipped != 0 {
		t.Fatalf("without lag reports: ping-reqs %d, skipped %d: the test shows nothing", a.PingReqsSent-b.PingReqsSent, a.PingReqsSkipped)
	}
	c, b, a := run(true)
	if a.PingReqsSent != b.PingReqsSent || a.PingReqsSkipped == 0 {
		t.Fatalf("with lag reports: %d ping-reqs sent, %d skipped; want none sent", a.PingReqsSent-b.PingReqsSent, a.PingReqsSkipped)
	}
	if a.Suspicions != 0 {
		t.Fatalf("with lag reports the slow member raised %d suspicions", a.Suspicions)
	}
	delete(c.slow, slow)
	c.run(3 * lagTicks * 8) // past the lag window at the raised health multiplier
	const victim = 3
	c.down[victim] = true
	sent := c.nodes[slow].Stats().PingReqsSent
	c.runUntil(2000, "the crash known to the once-slow member", func() bool {
		m, ok := c.nodes[slow].Member(nodeID(victim))
		return ok && m.State == StateDead
	})
	if c.nodes[slow].Stats().PingReqsSent == sent {
		t.Fatal("after the lag no ping-reqs were sent again")
	}
}
