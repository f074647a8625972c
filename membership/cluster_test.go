package membership

import (
	"testing"
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
