package core

import "testing"

// TestPullsLimitedPerPeerRound: a peer that sends pull requests in a loop
// gets RoundTicks+1 answers a round, not one per request; another peer is
// still answered, and the next round answers again.
func TestPullsLimitedPerPeerRound(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(_ int, c *Config) { c.Mode = Pull })
	a := tn.nodes[0]
	tn.publish(0, "t", []byte("x"))
	var sent int
	a.cfg.Transport = countBodies{&sent}
	ask := func(from NodeID) {
		t.Helper()
		if err := a.Step(from, EncodeFrame(&Frame{Digest: &Digest{}})); err != nil {
			t.Fatal(err)
		}
		a.flush()
	}
	hostile, honest := tn.nodes[1].ID(), tn.nodes[2].ID()
	for i := 0; i < 50; i++ {
		ask(hostile)
	}
	want := a.cfg.RoundTicks + 1
	if sent != want || a.Stats().PullsLimited != uint64(50-want) {
		t.Fatalf("50 requests in a round: %d answered, %d limited; want %d and %d", sent, a.Stats().PullsLimited, want, 50-want)
	}
	ask(honest)
	if sent != want+1 {
		t.Fatalf("another peer got %d bodies, want 1", sent-want)
	}
	for i := 0; i < a.cfg.RoundTicks; i++ {
		a.Tick()
	}
	sent = 0
	ask(hostile)
	if sent != 1 {
		t.Fatalf("next round: %d bodies, want 1", sent)
	}
}

// TestIWantServesPerPeer: a peer that asks for one body over and over
// (here 30 times in one IWANT, then in more frames over later rounds) gets
// it maxServesPerPeer times; another peer still gets it.
func TestIWantServesPerPeer(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(_ int, c *Config) { c.Mode = Pull })
	a := tn.nodes[0]
	tn.publish(0, "t", []byte("x"))
	var key MsgKey
	for k := range a.store {
		key = k
	}
	var sent int
	a.cfg.Transport = countBodies{&sent}
	ask := func(from NodeID, times int) {
		t.Helper()
		keys := make([]MsgKey, times)
		for i := range keys {
			keys[i] = key
		}
		if err := a.Step(from, EncodeFrame(&Frame{IWant: keys})); err != nil {
			t.Fatal(err)
		}
		a.flush()
	}
	hostile, honest := tn.nodes[1].ID(), tn.nodes[2].ID()
	ask(hostile, 30)
	for i := 0; i < 5; i++ {
		a.Tick()
		ask(hostile, 1)
	}
	if sent != maxServesPerPeer || a.Stats().IWantsLimited != uint64(35-maxServesPerPeer) {
		t.Fatalf("35 asks: %d bodies sent, %d limited; want %d and %d", sent, a.Stats().IWantsLimited, maxServesPerPeer, 35-maxServesPerPeer)
	}
	ask(honest, 1)
	if sent != maxServesPerPeer+1 {
		t.Fatalf("another peer got %d bodies, want 1", sent-maxServesPerPeer)
	}
}
