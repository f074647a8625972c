package membership

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// staticNeighbors is a fixed neighbour set (Config.Neighbors).
type staticNeighbors []core.NodeID

func (s staticNeighbors) AppendNeighbors(dst []core.NodeID) []core.NodeID { return append(dst, s...) }
func (s staticNeighbors) IsNeighbor(id core.NodeID) bool                  { return slices.Contains(s, id) }

// Several neighbours reported unreachable at once (a fifth of a group
// crashing together leaves each member about three) are each probed out of
// turn, although no longer neighbours; nobody else probes them here, so
// these probes are what detects them. (With one slot for such a probe only
// the last reported was probed, and the others went undetected.)
func TestReportUnreachableProbesEach(t *testing.T) {
	const n = 8
	victims := []int{5, 6, 7}
	c := newCluster(t, n, 3, func(i int, cfg *Config) {
		var nb staticNeighbors
		for j := 0; j < 5; j++ { // everyone's neighbours are members 0-4
			if j != i {
				nb = append(nb, nodeID(j))
			}
		}
		cfg.Neighbors = nb
	})
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	for _, v := range victims {
		c.down[v] = true
	}
	m0 := c.nodes[0]
	for _, v := range victims {
		if !m0.ReportUnreachable(nodeID(v)) {
			t.Fatalf("report of %d refused", v)
		}
	}
	if m0.ReportUnreachable(nodeID(victims[0])) {
		t.Fatal("a member already waiting for its probe was queued twice")
	}
	c.runUntil(3000, "every victim failed at member 0", func() bool {
		for _, v := range victims {
			if mb, ok := m0.Member(nodeID(v)); !ok || mb.State.Live() {
				return false
			}
		}
		return true
	})
	if s := m0.Stats(); s.Suspicions < uint64(len(victims)) {
		t.Fatalf("member 0 raised %d suspicions of its own, want one per victim (%d)", s.Suspicions, len(victims))
	}
}
