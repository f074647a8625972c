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
