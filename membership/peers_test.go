package membership

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// The tree-push peer list holds the alive members only, and its version
// moves when a member falls under suspicion and again when it is declared
// dead.
func TestPeerListerSkipsSuspects(t *testing.T) {
	c := newCluster(t, 5, 3, nil)
	c.joinAll()
	c.runUntil(2000, "convergence", c.converged)
	m := c.nodes[0]
	var _ core.PeerLister = m
	peers := m.AppendPeers(nil)
	if len(peers) != 4 || slices.Contains(peers, m.cfg.ID) {
		t.Fatalf("peers %v, want the 4 others", peers)
	}
	v0 := m.PeersVersion()
	if m.PeersVersion() != v0 {
		t.Fatal("version moved without a change")
	}
	victim := nodeID(3)
	c.down[3] = true
	c.runUntil(2000, "suspicion", func() bool {
		mem, _ := m.Member(victim)
		return mem.State == StateSuspect
	})
	if slices.Contains(m.AppendPeers(nil), victim) {
		t.Fatal("a suspect is listed for tree push")
	}
	if len(m.AppendPeers(nil)) != 3 {
		t.Fatalf("peers while one is suspect: %v", m.AppendPeers(nil))
	}
	v1 := m.PeersVersion()
	if v1 == v0 {
		t.Fatal("version did not move when a member became suspect")
	}
	c.runUntil(4000, "death", func() bool {
		mem, _ := m.Member(victim)
		return mem.State == StateDead
	})
	if m.PeersVersion() == v1 {
		t.Fatal("version did not move when the suspect was declared dead")
	}
	if got := m.AppendPeers(nil); len(got) != 3 || slices.Contains(got, victim) {
		t.Fatalf("peers after the death: %v", got)
	}
}
