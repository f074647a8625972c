package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

func TestClusterJoinConverges(t *testing.T) {
	c := newCluster(t, 20, 1, nil)
	c.joinAll()
	took := c.runUntil(600, "join convergence", c.converged)
	t.Logf("20 members converged after %d ticks", took)
	if n := c.count(EventFail, ""); n != 0 {
		t.Fatalf("%d failures during a clean join", n)
	}
}

func TestClusterCrashDetected(t *testing.T) {
	c := newCluster(t, 20, 2, nil)
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	c.down[7] = true
	start := c.now
	took := c.runUntil(1000, "crash detection", c.converged)
	t.Logf("crash of n007 known to all after %d ticks", took)
	if c.count(EventFail, nodeID(7)) != 19 {
		t.Fatalf("fail events about n007: %d, want 19", c.count(EventFail, nodeID(7)))
	}
	for _, e := range c.events {
		if e.Kind == EventFail && e.Member.ID != nodeID(7) {
			t.Fatalf("false failure of %s", e.Member.ID)
		}
	}
	_ = start
	for _, m := range c.nodes {
		checkInvariants(t, m) // a suspect, then a tombstone: the counts by state follow
	}
}

func TestClusterFalseSuspicionRefuted(t *testing.T) {
	c := newCluster(t, 10, 3, nil)
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	// Node 0 suspects node 4 on its own (as if its probe had failed).
	inc := c.nodes[4].Incarnation()
	c.nodes[0].applySuspect(accuseMsg{id: nodeID(4), inc: inc, from: nodeID(0)}, "")
	c.runUntil(100, "refutation", func() bool { return c.nodes[4].Incarnation() > inc })
	c.runUntil(200, "suspicion cleared", func() bool {
		for i, m := range c.nodes {
			if i == 4 {
				continue
			}
			mem, _ := m.Member(nodeID(4))
			if mem.State != StateAlive || mem.Incarnation <= inc {
				return false
			}
		}
		return true
	})
	if n := c.count(EventFail, ""); n != 0 {
		t.Fatalf("%d fail events", n)
	}
	if c.nodes[4].Stats().Refutations == 0 {
		t.Fatal("no refutation counted")
	}
}

func TestClusterLeave(t *testing.T) {
	c := newCluster(t, 12, 4, nil)
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	c.nodes[5].Leave()
	c.runUntil(300, "leave known", c.converged)
	c.runUntil(300, "leave flushed", func() bool { return c.nodes[5].Pending() == 0 })
	c.down[5] = true
	if got := c.count(EventLeave, nodeID(5)); got != 11 {
		t.Fatalf("leave events %d, want 11", got)
	}
	if got := c.count(EventFail, ""); got != 0 {
		t.Fatalf("fail events after a graceful leave: %d", got)
	}
	c.run(500)
	if got := c.count(EventFail, ""); got != 0 {
		t.Fatalf("fail events after a graceful leave: %d", got)
	}
	for _, m := range c.nodes {
		checkInvariants(t, m) // the leaver itself left, the others hold it left
	}
}

func TestClusterPartitionHeals(t *testing.T) {
	const n = 16
	c := newCluster(t, n, 5, func(i int, cfg *Config) { cfg.ReconnectInterval = 100 })
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	c.cut = func(a, b int) bool { return (a < n/2) != (b < n/2) }
	c.runUntil(3000, "both sides give up on the other", func() bool {
		for _, m := range c.nodes {
			if m.Size() != n/2 {
				return false
			}
		}
		return true
	})
	c.cut = nil
	took := c.runUntil(3000, "re-merge", c.converged)
	t.Logf("healed partition re-merged after %d ticks", took)
	if c.count(EventRejoin, "") == 0 {
		t.Fatal("no rejoin events")
	}
	for _, m := range c.nodes {
		checkInvariants(t, m)
	}
}

func TestClusterLossNoFalsePositives(t *testing.T) {
	c := newCluster(t, 30, 6, nil)
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	c.loss = 0.10
	c.run(3000) // 5 minutes at 100 ms ticks
	if n := c.count(EventFail, ""); n != 0 {
		t.Fatalf("%d false failures at 10 %% loss with Lifeguard", n)
	}
}

func TestClusterRejoinAfterRestart(t *testing.T) {
	c := newCluster(t, 8, 8, nil)
	c.joinAll()
	c.runUntil(600, "join", c.converged)
	c.down[3] = true
	c.runUntil(1000, "crash detected", c.converged)
	// Restart node 3 with fresh state (incarnation 0): it must outbid its
	// tombstone and be accepted again.
	cfg := c.nodes[3].cfg
	cfg.Rand = nil
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[3] = m
	c.down[3] = false
	m.Join([]core.NodeID{nodeID(0)})
	took := c.runUntil(1000, "restarted member accepted", c.converged)
	t.Logf("restarted member accepted after %d ticks (incarnation %d)", took, m.Incarnation())
	if c.count(EventRejoin, nodeID(3)) != 7 {
		t.Fatalf("rejoin events %d, want 7", c.count(EventRejoin, nodeID(3)))
	}
	for _, m := range c.nodes {
		checkInvariants(t, m) // a tombstone alive again
	}
}

// TestClusterSimultaneousJoinLossy: 40 members join through one seed at
// once with 10 % of every frame lost (state exchanges included); the syncs
// after joining complete every view within 20 s (the periodic push-pull
// alone comes every 30 s).
func TestClusterSimultaneousJoinLossy(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		c := newCluster(t, 40, seed, nil)
		c.loss = 0.10
		c.joinAll()
		took := c.runUntil(200, "join convergence at 10 % loss", c.converged)
		t.Logf("seed %d: 40 members converged after %d ticks", seed, took)
	}
}

// TestClusterDetectionTime: with the LAN profile a crash is known to every
// survivor about a period after the first suspicion plus the minimum
// suspicion timeout (1.5·log₁₀ 20 periods ≈ 20 ticks): a mean under 55
// ticks over twelve crashes, where the memberlist parameters (multiplier 4,
// no out-of-turn probes of suspects) take about 70.
func TestClusterDetectionTime(t *testing.T) {
	total, crashes := 0, 0
	for seed := uint64(1); seed <= 4; seed++ {
		c := newCluster(t, 20, seed, nil)
		c.joinAll()
		c.runUntil(600, "join", c.converged)
		for k := 0; k < 3; k++ {
			v := 19 - k
			c.down[v] = true
			total += c.runUntil(600, "crash detection", c.converged)
			crashes++
			c.run(50)
		}
		if n := c.count(EventFail, ""); n != 3*19-3 {
			// 19 + 18 + 17 survivors' fail events, nothing else.
			t.Fatalf("seed %d: %d fail events, want 54", seed, n)
		}
	}
	if mean := float64(total) / float64(crashes); mean >= 55 {
		t.Fatalf("mean crash → all-know %.1f ticks, want < 55", mean)
	} else {
		t.Logf("mean crash → all-know %.1f ticks", mean)
	}
}
