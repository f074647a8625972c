package overlay

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestLagHoldsFailures: a neighbour goes silent while the node reports
// that it runs behind (its neighbours' frames may be waiting in its
// inbox): no failure is declared while the lag lasts, and the neighbour is
// declared failed within FailTicks/2 once it stops.
func TestLagHoldsFailures(t *testing.T) {
	net := newMemnet()
	var failed []core.NodeID
	a := net.add(t, "a", func(c *Config) {
		c.OnDown = func(p core.NodeID, why Reason) {
			if why == Failed {
				failed = append(failed, p)
			}
		}
	})
	net.add(t, "b", nil)
	a.Join("b")
	net.run(t)
	net.tick(t, 5)
	if !a.IsActive("b") {
		t.Fatalf("%v: b is not a neighbour", a)
	}
	net.down["b"] = true
	for k := 0; k < 3*a.cfg.FailTicks; k++ {
		a.ReportLag(a.cfg.KeepaliveTicks)
		net.tick(t, 1)
	}
	if len(failed) != 0 || !a.IsActive("b") {
		t.Fatalf("declared failed while running behind: %v", failed)
	}
	if a.Stats().FailuresHeld == 0 {
		t.Fatal("no failure verdict counted as held")
	}
	for k := 0; k <= a.cfg.FailTicks/2+1 && !slices.Contains(failed, "b"); k++ {
		net.tick(t, 1)
	}
	if !slices.Contains(failed, core.NodeID("b")) {
		t.Fatalf("b not declared failed after the lag: %v", a)
	}
	// A lag shorter than a quarter of the keepalive period is not lag.
	before := a.lagAt
	net.tick(t, 3)
	a.ReportLag(a.cfg.KeepaliveTicks/4 - 1)
	if a.lagAt != before {
		t.Fatal("a short wait was taken for lag")
	}
}
