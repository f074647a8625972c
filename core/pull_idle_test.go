package core

import (
	"fmt"
	"testing"
)

// pullNet is two nodes that only pull (one pull period a tick), node 0
// with the idle backoff.
func pullNet(t *testing.T, idleMax int) *testNet {
	return newTestNet(t, 2, 1, func(i int, c *Config) {
		c.Mode = Pull
		if i == 0 {
			c.PullIdleMax = idleMax
		}
	})
}

// TestPullIdleBackoff: in an idle group a node's digests come 1, 2, 4,
// then 8 periods apart (7 in 40 periods, not 40), and a message of its
// own brings them back to every period.
func TestPullIdleBackoff(t *testing.T) {
	for _, tc := range []struct {
		idleMax, want int
	}{{0, 40}, {1, 40}, {8, 7}} {
		tn := pullNet(t, tc.idleMax)
		a := tn.nodes[0]
		for i := 0; i < 40; i++ {
			tn.round()
		}
		if got := int(a.Stats().DigestsSent); got != tc.want {
			t.Fatalf("PullIdleMax %d: %d digests in 40 idle periods, want %d", tc.idleMax, got, tc.want)
		}
		if got := int(a.Stats().PullsIdle); got != 40-tc.want {
			t.Fatalf("PullIdleMax %d: PullsIdle %d, want %d", tc.idleMax, got, 40-tc.want)
		}
		if tc.idleMax <= 1 {
			continue
		}
		tn.publish(0, "t", []byte("x"))
		before := a.Stats().DigestsSent
		for i := 0; i < 3; i++ {
			tn.round()
		}
		// The change is seen at once; then the backoff starts over (1, 2).
		if got := a.Stats().DigestsSent - before; got != 2 {
			t.Fatalf("after a publish: %d digests in 3 periods, want 2", got)
		}
	}
}

// TestPullIdleHint: a node deep in its idle backoff that missed a message
// entirely learns of it from a peer's digest and pulls it from that peer
// at its next period, not at the end of its backoff (7 periods later).
func TestPullIdleHint(t *testing.T) {
	tn := pullNet(t, 8)
	a, b := tn.nodes[0], tn.nodes[1]
	for i := 0; i < 40; i++ {
		tn.round() // a sent at period 39 and now skips 7 periods
	}
	m, err := b.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil // the body is not pushed (Pull mode); nothing in flight
	rounds := 0
	for !a.Has(m.Key()) && rounds < 10 {
		tn.round()
		rounds++
	}
	// Period 1: b's digest reaches a and shows the message; period 2: a
	// pulls from b, which answers.
	if rounds > 2 {
		t.Fatalf("the missed message reached the backed-off node after %d periods, want at most 2", rounds)
	}
	if a.Stats().PullHints == 0 {
		t.Fatalf("PullHints 0, want the hint counted")
	}
}

// TestDigestReveals: what a peer's digest says this node lacks.
func TestDigestReveals(t *testing.T) {
	tn := newTestNet(t, 1, 1, nil)
	e := tn.nodes[0]
	o := e.trackOrigin("o")
	o.markSeen(e, 1)
	o.markSeen(e, 2)
	o.markSeen(e, 5)
	e.tombs = map[NodeID]tomb{"gone": {contiguous: 9}}
	for _, tc := range []struct {
		name string
		d    DigestEntry
		want bool
	}{
		{"same prefix", DigestEntry{Origin: "o", Contiguous: 2}, false},
		{"longer prefix", DigestEntry{Origin: "o", Contiguous: 3}, true},
		{"an above this node has", DigestEntry{Origin: "o", Contiguous: 2, Above: []uint64{5}}, false},
		{"an above this node lacks", DigestEntry{Origin: "o", Contiguous: 2, Above: []uint64{4, 5}}, true},
		{"an unknown origin", DigestEntry{Origin: "new", Above: []uint64{1}}, true},
		{"an unknown origin, nothing seen", DigestEntry{Origin: "new"}, false},
		{"a forgotten origin's old messages", DigestEntry{Origin: "gone", Contiguous: 9}, false},
		{"a forgotten origin's new message", DigestEntry{Origin: "gone", Contiguous: 9, Above: []uint64{11}}, true},
	} {
		if got := e.digestReveals(&Digest{Entries: []DigestEntry{tc.d}}); got != tc.want {
			t.Errorf("%s: reveals %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPullHintKeepsRandomTarget: a peer whose digests claim more than this
// node holds gets a digest beside the random target, never instead of it,
// so that it cannot make itself the node's only source of repair.
func TestPullHintKeepsRandomTarget(t *testing.T) {
	tn := newTestNet(t, 4, 1, func(i int, c *Config) { c.Mode = Pull; c.PullIdleMax = 8 })
	a := tn.nodes[0]
	tn.round()
	tn.queue = nil
	claim := &Digest{Entries: []DigestEntry{{Origin: "somebody", Contiguous: 50}}}
	for i := 0; i < 20; i++ {
		if err := a.Step("liar", EncodeFrame(&Frame{Digest: claim})); err != nil {
			t.Fatal(err)
		}
		a.Tick()
		honest := 0
		tn.eachQueued(t, 0, func(to int, f *Frame) {
			if f.Digest != nil && to != 0 { // "liar" is no member: its frames map to index 0
				honest++
			}
		})
		if honest != 1 {
			t.Fatalf("round %d: %d digests to group members besides the claimant's, want 1", i, honest)
		}
		tn.queue = nil
	}
}

// TestPullBackoffAfterOriginsForgotten: in a group where every member
// published once, long after the others forgot each origin (SeenTTL, the
// stored copies expired), members still back off their idle pulls: a
// member does not list its own forgotten origin, which every other member
// would take for a message it lacks and pull again every period.
func TestPullBackoffAfterOriginsForgotten(t *testing.T) {
	const n = 12
	tn := newTestNet(t, n, 1, func(_ int, c *Config) {
		c.Mode, c.PullEvery, c.PullIdleMax = PushPull, 1, 8
		c.StoreTTL, c.SeenTTL = 20, 40
	})
	for i, e := range tn.nodes {
		if _, err := e.Publish("t", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		tn.settle()
	}
	digests := func() (sum uint64) {
		for _, e := range tn.nodes {
			sum += e.Stats().DigestsSent
		}
		return sum
	}
	for r := 0; r < 200; r++ { // past StoreTTL and SeenTTL: forgotten
		tn.round()
	}
	before := digests()
	const window = 200
	for r := 0; r < window; r++ {
		tn.round()
	}
	perRound := float64(digests()-before) / n / window
	t.Logf("digests per member per round, long after the origins were forgotten: %.3f", perRound)
	if perRound > 0.25 {
		t.Errorf("%.3f digests per member per round: the idle backoff (at most one in 8) does not hold", perRound)
	}
}
