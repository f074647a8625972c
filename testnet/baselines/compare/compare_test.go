package compare

import (
	"testing"
	"time"
)

// Every protocol delivers everything to a small fault-free group, and the
// same seed gives the same run.
func TestRunAllProtocols(t *testing.T) {
	for _, proto := range Protocols {
		p := DefaultParams()
		p.Protocol, p.N, p.Seed, p.Messages = proto, 60, 1, 4
		r, err := Run(p)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if r.Delivered != 1 || r.T100 < 0 {
			t.Errorf("%s: delivered %.3f, T100 %v", proto, r.Delivered, r.T100)
		}
		r2, _ := Run(p)
		if r2.T100 != r.T100 || r2.FramesPerNode != r.FramesPerNode || r2.Events != r.Events {
			t.Errorf("%s: not deterministic: %v/%v %v/%v", proto, r.T100, r2.T100, r.FramesPerNode, r2.FramesPerNode)
		}
		t.Logf("%-12s T99 %-8v T100 %-8v frames/node %.1f max %d", proto, r.T99, r.T100, r.FramesPerNode, r.MaxNode)
	}
}

// The internal crash cuts the tree's subtree off until repair; SRM's
// repairs do not depend on any one node.
func TestInternalCrash(t *testing.T) {
	p := DefaultParams()
	p.N, p.Seed, p.Messages, p.Scenario = 85, 2, 6, Scenarios[5]
	p.Protocol = "tree"
	tree, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if tree.T100 < 500*time.Millisecond {
		t.Errorf("tree recovered in %v, faster than failure detection", tree.T100)
	}
	if tree.Delivered != 1 {
		t.Errorf("tree with resync delivered %.3f", tree.Delivered)
	}
}
