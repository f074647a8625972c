package baselines

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// newSRMNet builds n SRM members; dist[i][j] is both the timers' distance
// and (unless latency is overridden) the network latency.
func newSRMNet(t *testing.T, n int, dist func(i, j int) int, tweak func(i int, c *SRMConfig)) (*testNet, []*SRM) {
	tn, g := newTestNet(t, n)
	var nodes []*SRM
	for i := 0; i < n; i++ {
		c := DefaultSRMConfig()
		c.ID, c.Group, c.Transport, c.App, c.Rand = tid(i), g, tn.transport(i), tn.apps[i], testRand(uint64(i))
		i := i
		c.Distance = func(p core.NodeID) int { return dist(i, tn.byID[p]) }
		if tweak != nil {
			tweak(i, &c)
		}
		nd, err := NewSRM(c)
		if err != nil {
			t.Fatal(err)
		}
		tn.nodes[i] = nd
		nodes = append(nodes, nd)
	}
	return tn, nodes
}

func sum(nodes []*SRM, f func(Stats) uint64) (s uint64) {
	for _, nd := range nodes {
		s += f(nd.Stats())
	}
	return
}

// The scripted scenario of the paper's suppression: members 1 and 2 both
// lose packet 1 and detect it from packet 2. Member 1 is nearer the source,
// so its request timer fires first; member 2 hears that request before its
// own timer fires and suppresses its request. Of the two holders, the
// source is much nearer the requester than member 3, so it repairs first
// and member 3 suppresses its repair.
func TestSRMSuppressesDuplicateRequestsAndRepairs(t *testing.T) {
	// distances in ticks: 0 source, 1 and 2 lose, 3 holds.
	d := [4][4]int{
		{0, 5, 20, 30},
		{5, 0, 20, 30},
		{20, 20, 0, 30},
		{30, 30, 30, 0},
	}
	tn, nodes := newSRMNet(t, 4, func(i, j int) int { return d[i][j] }, func(_ int, c *SRMConfig) { c.SessionTicks = 0 })
	tn.latency = func(from, to int) uint64 { return 1 } // timers use d; the network is fast
	tn.drop = func(from, to int, frame []byte) bool {
		return from == 0 && (to == 1 || to == 2) && dataSeq(frame) == 1 && !hasRecord(frame, RecRepair)
	}
	nodes[0].Publish("t", []byte("1"))
	nodes[0].Publish("t", []byte("2"))
	if !tn.runUntil(func() bool { return tn.allHave(1) && tn.allHave(2) }, 200) {
		t.Fatal("loss never repaired")
	}
	tn.run(200)
	if got := sum(nodes, func(s Stats) uint64 { return s.RequestsSent }); got != 1 {
		t.Errorf("%d requests sent, want 1 (member 2 suppressed)", got)
	}
	if s := nodes[2].Stats(); s.RequestsSuppressed < 1 || s.RequestsSent != 0 {
		t.Errorf("member 2: suppressed %d, sent %d", s.RequestsSuppressed, s.RequestsSent)
	}
	if got := sum(nodes, func(s Stats) uint64 { return s.RepairsSent }); got != 1 {
		t.Errorf("%d repairs sent, want 1", got)
	}
	if s := nodes[3].Stats(); s.RepairsSuppressed != 1 || s.RepairsSent != 0 {
		t.Errorf("member 3: repairs suppressed %d, sent %d", s.RepairsSuppressed, s.RepairsSent)
	}
	if s := nodes[0].Stats(); s.RepairsSent != 1 {
		t.Errorf("source sent %d repairs", s.RepairsSent)
	}
	// Member 1's request timer was drawn from [C1·5, (C1+C2)·5] = [10, 20].
	if at := tn.apps[1].when(1); at < 10+1 || at > 20+1+10+1 {
		t.Errorf("member 1 repaired at tick %d", at)
	}
}

// A member whose requests go unanswered backs off exponentially: with
// C2 = 0 the k-th interval is exactly 2^k·C1·d, capped at 2^MaxBackoff,
// and after MaxRequests requests it gives the loss up.
func TestSRMExponentialBackoff(t *testing.T) {
	tn, nodes := newSRMNet(t, 3, func(i, j int) int { return 2 }, func(_ int, c *SRMConfig) {
		c.C1, c.C2, c.MaxBackoff, c.MaxRequests, c.SessionTicks = 2, 0, 3, 6, 0
	})
	var reqAt []uint64
	tn.drop = func(from, to int, frame []byte) bool {
		if from == 1 && hasRecord(frame, RecRequest) {
			if to == 0 {
				reqAt = append(reqAt, tn.now)
			}
			return true // nobody hears member 1's requests
		}
		return from == 0 && to == 1 && dataSeq(frame) == 1
	}
	nodes[0].Publish("t", []byte("1"))
	nodes[0].Publish("t", []byte("2"))
	tn.run(500)
	if len(reqAt) != 6 {
		t.Fatalf("%d requests at %v, want 6", len(reqAt), reqAt)
	}
	// Detected on arrival, before the member's first Tick (its clock
	// reads 0); the first timer is C1·d = 4 ticks.
	want := []uint64{4, 8, 16, 32, 32, 32} // then capped at 2^3·4
	if reqAt[0] != want[0] {
		t.Errorf("first request at %d, want %d", reqAt[0], want[0])
	}
	for i := 1; i < len(reqAt); i++ {
		if got := reqAt[i] - reqAt[i-1]; got != want[i] {
			t.Errorf("interval %d = %d ticks, want %d (all: %v)", i, got, want[i], reqAt)
		}
	}
	if s := nodes[1].Stats(); s.RequestsAbandoned != 1 || nodes[1].PendingRequests() != 0 {
		t.Errorf("abandoned %d, pending %d", s.RequestsAbandoned, nodes[1].PendingRequests())
	}
}

// The session message reveals the loss of the last packet, which no gap can.
func TestSRMSessionDetectsTailLoss(t *testing.T) {
	tn, nodes := newSRMNet(t, 3, func(i, j int) int { return 1 }, func(_ int, c *SRMConfig) { c.SessionTicks = 10 })
	tn.drop = func(from, to int, frame []byte) bool {
		return from == 0 && to == 1 && dataSeq(frame) == 2 && !hasRecord(frame, RecRepair)
	}
	nodes[0].Publish("t", []byte("1"))
	nodes[0].Publish("t", []byte("2"))
	if !tn.runUntil(func() bool { return tn.allHave(2) }, 100) {
		t.Fatal("tail loss never repaired")
	}
	if at := tn.apps[1].when(2); at < 10 {
		t.Errorf("repaired at tick %d, before the first session message", at)
	}
}

// Under heavy random loss in a larger group every member still gets every
// message, and suppression keeps requests far below one per loss.
func TestSRMLossyGroup(t *testing.T) {
	tn, nodes := newSRMNet(t, 40, func(i, j int) int { return 1 + (i+j)%4 }, nil)
	tn.latency = func(from, to int) uint64 { return uint64(1 + (from+to)%4) }
	rng := testRand(42)
	tn.drop = func(from, to int, frame []byte) bool { return rng.Float64() < 0.2 }
	for i := 0; i < 10; i++ {
		nodes[0].Publish("t", []byte{byte(i)})
		tn.run(2)
	}
	ok := tn.runUntil(func() bool {
		for q := uint64(1); q <= 10; q++ {
			if !tn.allHave(q) {
				return false
			}
		}
		return true
	}, 3000)
	if !ok {
		t.Fatal("not every member got every message")
	}
	losses := 39 * 10 / 5 // about 20 % of 390 receptions
	if req := sum(nodes, func(s Stats) uint64 { return s.RequestsSent }); req > uint64(losses) {
		t.Errorf("%d requests for about %d losses: no suppression", req, losses)
	}
}
