package baselines

import (
	"testing"
)

func newCentralizedNet(t *testing.T, n int, tweak func(c *CentralizedConfig)) (*testNet, []*Centralized) {
	tn, g := newTestNet(t, n)
	var nodes []*Centralized
	for i := 0; i < n; i++ {
		c := DefaultCentralizedConfig()
		c.ID, c.Source, c.Group, c.Transport, c.App = tid(i), tid(0), g, tn.transport(i), tn.apps[i]
		if tweak != nil {
			tweak(&c)
		}
		nd, err := NewCentralized(c)
		if err != nil {
			t.Fatal(err)
		}
		tn.nodes[i] = nd
		nodes = append(nodes, nd)
	}
	return tn, nodes
}

// The source's per-send cost makes latency grow linearly with n.
func TestCentralizedLatencyLinear(t *testing.T) {
	last := map[int]uint64{}
	for _, n := range []int{51, 201, 801} {
		tn, nodes := newCentralizedNet(t, n, func(c *CentralizedConfig) { c.SendsPerTick = 10 })
		if _, err := nodes[0].Publish("t", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if !tn.runUntil(func() bool { return tn.allHave(1) }, 1000) {
			t.Fatalf("n=%d: not delivered", n)
		}
		for _, a := range tn.apps {
			last[n] = max(last[n], a.when(1))
		}
		// n-1 receivers at 10 per tick, plus one tick of latency.
		if want := uint64((n-1)/10 + 1); last[n] != want {
			t.Errorf("n=%d: last delivery at tick %d, want %d", n, last[n], want)
		}
		if s := nodes[0].Stats(); s.MessagesSent != uint64(n-1) {
			t.Errorf("n=%d: source sent %d, want %d", n, s.MessagesSent, n-1)
		}
	}
	if r := float64(last[801]) / float64(last[201]); r < 3.5 || r > 4.5 {
		t.Errorf("latency ratio for 4x the receivers = %.2f, want about 4", r)
	}
}

// A lost send is repeated after the ACK timeout; a crashed receiver is
// given up after MaxRetries.
func TestCentralizedRetransmitOnAckTimeout(t *testing.T) {
	tn, nodes := newCentralizedNet(t, 5, func(c *CentralizedConfig) { c.AckTimeout = 10; c.MaxRetries = 2 })
	dropped := false
	tn.drop = func(from, to int, frame []byte) bool {
		if from == 0 && to == 2 && !dropped && hasRecord(frame, 0x01) {
			dropped = true
			return true
		}
		return false
	}
	tn.down[4] = true
	nodes[0].Publish("t", []byte("x"))
	tn.run(60)
	if !tn.apps[2].has(1) {
		t.Fatal("receiver 2 never got the message")
	}
	if at := tn.apps[2].when(1); at < 10 {
		t.Errorf("receiver 2 got it at tick %d, before the ACK timeout", at)
	}
	s := nodes[0].Stats()
	// Receiver 2 once; receiver 4 (crashed) twice, then given up.
	if s.AckTimeouts != 3 || s.GaveUp != 1 || s.Retransmitted != 3 {
		t.Errorf("AckTimeouts=%d GaveUp=%d Retransmitted=%d, want 3, 1, 3", s.AckTimeouts, s.GaveUp, s.Retransmitted)
	}
	for i := 1; i < 4; i++ {
		if got := len(tn.apps[i].got); got != 1 {
			t.Errorf("receiver %d delivered %d times", i, got)
		}
	}
}

func TestCentralizedOnlySourcePublishes(t *testing.T) {
	_, nodes := newCentralizedNet(t, 3, nil)
	if _, err := nodes[1].Publish("t", nil); err != ErrNotSource {
		t.Fatalf("receiver Publish: %v, want ErrNotSource", err)
	}
	if _, err := NewCentralized(CentralizedConfig{}); err == nil {
		t.Fatal("empty config accepted")
	}
}
