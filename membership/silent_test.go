package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestSilentNeighborProbedFirst: member 0 has 15 neighbours and is the only
// member that probes victim 15; the others talk to member 0 every tick (as
// an overlay's gossip and keepalives do). After the victim crashes, member
// 0 suspects it on its own within three periods, in each of five runs:
// every other probe goes to the neighbour heard from least recently. By
// round-robin turn alone the victim waits for its place among 15, up to
// 15 periods (without silent.go, three of these five runs waited 45, 140
// and 173 ticks).
func TestSilentNeighborProbedFirst(t *testing.T) {
	const n, victim = 16, 15
	for seed := uint64(1); seed <= 5; seed++ {
		c := newCluster(t, n, seed, func(i int, cfg *Config) {
			var nb staticNeighbors
			for j := 0; j < n; j++ {
				if j != i && (i == 0 || j != victim) {
					nb = append(nb, nodeID(j))
				}
			}
			cfg.Neighbors = nb
		})
		c.joinAll()
		c.runUntil(3000, "convergence", c.converged)
		talk := func() {
			for j := 1; j < victim; j++ {
				_ = c.nodes[0].Step(nodeID(j), &core.Frame{})
			}
		}
		for k := 0; k < 37*int(seed); k++ { // crash at a different point of the round in each run
			talk()
			c.run(1)
		}
		c.down[victim] = true
		period := c.nodes[0].cfg.ProbeInterval
		suspected := func() bool {
			for k, e := range c.events {
				if c.evNode[k] == 0 && e.Kind == EventSuspect && e.Member.ID == nodeID(victim) && e.From == "" {
					return true
				}
			}
			return false
		}
		ticks := 0
		for ; ticks < 20*period && !suspected(); ticks++ {
			talk()
			c.run(1)
		}
		if ticks > 3*period {
			t.Errorf("seed %d: member 0 suspected its silent neighbour %d ticks after its crash, want within %d", seed, ticks, 3*period)
		}
	}
}
