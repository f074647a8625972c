package overlay

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// A walk that ends at a node whose origin is not its neighbour: with
// ShuffleReplyToNeighbors the node merges the entries and answers nobody;
// without it, it answers the origin (the paper's rule).
func TestShuffleReplyToNeighbors(t *testing.T) {
	for _, only := range []bool{false, true} {
		net, a, evil := neighbourOf(t, func(c *Config) { c.ShuffleReplyToNeighbors = only })
		net.log = nil
		list := []core.NodeID{"o", "p", "q"}
		a.Step(evil, frame(func(b []byte) []byte { return appendShuffle(b, 5, "o", 1, list) }))
		answered := 0
		for _, s := range net.log {
			if s.to != "o" {
				continue
			}
			f, err := core.DecodeFrame(s.frame, core.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range f.Records {
				if r.Type == RecShuffleReply {
					answered++
				}
			}
		}
		st := a.Stats()
		if only && (answered != 0 || st.ShuffleRepliesSkipped != 1 || st.ShufflesAnswered != 0) {
			t.Errorf("neighbours only: %d answers to a non-neighbour, stats %+v", answered, st)
		}
		if !only && (answered != 1 || st.ShufflesAnswered != 1) {
			t.Errorf("paper's rule: %d answers to the origin, stats %+v", answered, st)
		}
		if a.PassiveLen() != 3 {
			t.Errorf("only=%v: passive %v, want the walk's 3 entries", only, a.Passive(nil))
		}
	}
}

// At or above ActiveMin a node has at most LowPriorityPending NEIGHBOR
// requests in flight, whatever it is short of its target.
func TestLowPriorityPending(t *testing.T) {
	net := newMemnet()
	a := net.add(t, "a", func(c *Config) {
		c.ActiveMin, c.ActiveMax, c.LowPriorityPending = 1, 16, 1
	})
	net.add(t, "b", nil)
	net.nodes["b"].Join("a")
	net.run(t)
	for i := 0; i < 10; i++ {
		a.addPassive(nid(i), nil) // unknown to the net: requests go unanswered
	}
	before := a.Stats().NeighborRequests
	a.fill()
	if sent := a.Stats().NeighborRequests - before; sent != 1 || len(a.pending) != 1 {
		t.Fatalf("%d requests sent, %d pending; want 1 (LowPriorityPending)", sent, len(a.pending))
	}
}

// FailTicks must leave the end of a link that pings second (after twice
// KeepaliveTicks of silence) time to ping before the link is dropped.
func TestKeepaliveBeforeFail(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "a", memTransport{}
	cfg.KeepaliveTicks, cfg.FailTicks = 30, 60
	if _, err := New(cfg); err == nil {
		t.Fatal("FailTicks = 2·KeepaliveTicks accepted")
	}
	cfg.FailTicks = 61
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}
