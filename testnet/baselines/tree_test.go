package baselines

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

func newTreeNet(t *testing.T, n int, tweak func(c *TreeConfig)) (*testNet, []*Tree) {
	tn, g := newTestNet(t, n)
	var nodes []*Tree
	for i := 0; i < n; i++ {
		c := DefaultTreeConfig()
		c.ID, c.Root, c.Group, c.Transport, c.App = tid(i), tid(0), g, tn.transport(i), tn.apps[i]
		if tweak != nil {
			tweak(&c)
		}
		nd, err := NewTree(c)
		if err != nil {
			t.Fatal(err)
		}
		tn.nodes[i] = nd
		nodes = append(nodes, nd)
	}
	return tn, nodes
}

func TestTreeShape(t *testing.T) {
	_, nodes := newTreeNet(t, 21, func(c *TreeConfig) { c.Arity = 4 })
	if got := nodes[0].Children(); !slices.Equal(got, []core.NodeID{tid(1), tid(2), tid(3), tid(4)}) {
		t.Errorf("root's children %v", got)
	}
	if got := nodes[1].Children(); !slices.Equal(got, []core.NodeID{tid(5), tid(6), tid(7), tid(8)}) {
		t.Errorf("node 1's children %v", got)
	}
	if nodes[7].Parent() != tid(1) || nodes[20].Parent() != tid(4) || nodes[0].Parent() != "" {
		t.Errorf("parents: %q %q %q", nodes[7].Parent(), nodes[20].Parent(), nodes[0].Parent())
	}
	// A non-first root: positions wrap around it.
	g, _ := NewGroup([]core.NodeID{"a", "b", "c", "d"})
	for pos, want := range []core.NodeID{"c", "a", "b", "d"} {
		if got := TreeMember(g, "c", pos); got != want || TreePosition(g, "c", want) != pos {
			t.Errorf("position %d: %q, want %q", pos, got, want)
		}
	}
}

// A message needs one hop per level: ⌈log_k n⌉ ticks at unit latency, and
// every node sends at most k copies.
func TestTreeHops(t *testing.T) {
	tn, nodes := newTreeNet(t, 85, func(c *TreeConfig) { c.Arity = 4 }) // 1+4+16+64
	nodes[0].Publish("t", []byte("x"))
	if !tn.runUntil(func() bool { return tn.allHave(1) }, 10) {
		t.Fatal("not delivered")
	}
	var last uint64
	for i, nd := range nodes {
		last = max(last, tn.apps[i].when(1))
		if s := nd.Stats(); s.MessagesSent > 4 {
			t.Errorf("node %d sent %d copies", i, s.MessagesSent)
		}
	}
	if last != 3 {
		t.Errorf("deepest delivery at tick %d, want 3 (three levels)", last)
	}
}

// When an internal node crashes its subtree is cut off; its children detect
// the silence after DeadTicks, re-attach to the grandparent and, with
// resync, catch up on what they missed.
func TestTreeCutOffAndReattach(t *testing.T) {
	tn, nodes := newTreeNet(t, 21, func(c *TreeConfig) { c.Arity = 4; c.HeartbeatTicks = 5; c.DeadTicks = 15 })
	nodes[0].Publish("t", []byte("1"))
	tn.run(3)
	if !tn.allHave(1) {
		t.Fatal("message 1 not delivered")
	}
	tn.down[1] = true // internal: children 5..8
	crashAt := tn.now
	nodes[0].Publish("t", []byte("2"))
	tn.run(3)
	for i := 5; i <= 8; i++ {
		if tn.apps[i].has(2) {
			t.Fatalf("node %d got message 2 through a crashed parent", i)
		}
	}
	if !tn.apps[2].has(2) || !tn.apps[9].has(2) {
		t.Fatal("other subtrees did not get message 2")
	}
	if !tn.runUntil(func() bool { return tn.allHave(2) }, 100) {
		t.Fatal("subtree never caught up")
	}
	for i := 5; i <= 8; i++ {
		at := tn.apps[i].when(2)
		if at < crashAt+15 {
			t.Errorf("node %d got message 2 at %d, before it could detect the crash", i, at)
		}
		if nodes[i].Parent() != tid(0) {
			t.Errorf("node %d re-attached to %q, want the root", i, nodes[i].Parent())
		}
		if s := nodes[i].Stats(); s.ParentLost != 1 || s.Reattachments != 1 {
			t.Errorf("node %d: ParentLost=%d Reattachments=%d", i, s.ParentLost, s.Reattachments)
		}
	}
	s := nodes[0].Stats()
	if s.Adoptions != 4 || s.ChildrenLost != 1 || s.Retransmitted != 4 {
		t.Errorf("root: Adoptions=%d ChildrenLost=%d Retransmitted=%d, want 4, 1, 4", s.Adoptions, s.ChildrenLost, s.Retransmitted)
	}
	// New messages now flow through the new links at once.
	nodes[0].Publish("t", []byte("3"))
	tn.run(2)
	for i := 5; i <= 8; i++ {
		if !tn.apps[i].has(3) {
			t.Errorf("node %d did not get message 3 directly", i)
		}
	}
}

// Without resync, what the subtree missed while cut off is lost.
func TestTreeNoResyncLoses(t *testing.T) {
	tn, nodes := newTreeNet(t, 21, func(c *TreeConfig) { c.HeartbeatTicks = 5; c.DeadTicks = 15; c.Resync = false })
	tn.down[1] = true
	nodes[0].Publish("t", []byte("1"))
	tn.run(60)
	if tn.apps[5].has(1) {
		t.Fatal("orphan got a message sent while it was cut off")
	}
	nodes[0].Publish("t", []byte("2"))
	tn.run(3)
	if !tn.apps[5].has(2) {
		t.Fatal("re-attached orphan did not get a later message")
	}
}

// Two levels of crashed ancestors: the orphan climbs until one answers.
func TestTreeClimbsPastDeadAncestors(t *testing.T) {
	tn, nodes := newTreeNet(t, 85, func(c *TreeConfig) { c.HeartbeatTicks = 5; c.DeadTicks = 15 })
	tn.down[1], tn.down[5] = true, true // 21's parent is 5, whose parent is 1
	tn.run(80)
	if nodes[21].Parent() != tid(0) {
		t.Fatalf("node 21's parent is %q, want the root", nodes[21].Parent())
	}
	nodes[0].Publish("t", []byte("x"))
	tn.run(5)
	if !tn.allHave(1) {
		t.Fatal("not everyone live got the message after repair")
	}
}
