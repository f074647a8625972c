package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestVouch: a member that heard a newcomer's join puts the newcomer's
// alive on frames with its messages, once per peer, within vouchTicks, and
// a member that had not heard of the newcomer learns it from that frame.
func TestVouch(t *testing.T) {
	c := newCluster(t, 6, 7, func(i int, cfg *Config) { authenticate(cfg) })
	newcomer := nodeID(4)
	c.down[4], c.down[5] = true, true
	c.joinAll()
	c.runUntil(3000, "convergence of the first four", c.converged)
	c.run(vouchTicks) // their own joins are no news any more
	c.down[4] = false
	c.nodes[4].Join([]core.NodeID{nodeID(0)})
	c.deliver()
	relay := c.nodes[0]
	if _, ok := relay.Member(newcomer); !ok {
		t.Fatal("the seed did not learn the newcomer from its join")
	}
	empty := core.NewFrame(nil)
	vouch := func(to core.NodeID, origins ...core.NodeID) []byte {
		return relay.Vouch(to, origins, core.NewFrame(nil), 4096)
	}
	f := vouch(nodeID(2), nodeID(3), newcomer)
	if len(f) <= len(empty) || relay.VouchStats().Vouched != 1 {
		t.Fatalf("no alive on a frame with the newcomer's message (%d bytes, %+v)", len(f), relay.VouchStats())
	}
	dec, err := core.DecodeFrame(f, core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// The sixth member has not heard of the newcomer: it learns it from
	// the frame, its signature checked as any alive's.
	c.down[5] = false
	fresh := c.nodes[5]
	if err := fresh.Step(nodeID(0), dec); err != nil {
		t.Fatal(err)
	}
	if mem, ok := fresh.Member(newcomer); !ok || mem.State != StateAlive {
		t.Fatal("the receiver did not learn the newcomer from the vouch")
	}
	if len(vouch(nodeID(2), newcomer)) != len(empty) {
		t.Fatal("vouched twice to one peer")
	}
	if len(vouch(nodeID(3), nodeID(1))) != len(empty) {
		t.Fatal("vouched on a frame without the newcomer's messages")
	}
	if len(vouch(newcomer, newcomer)) != len(empty) {
		t.Fatal("vouched for the newcomer to itself")
	}
	if relay.Vouch(nodeID(3), []core.NodeID{newcomer}, core.NewFrame(nil), 10); relay.VouchStats().NoRoom != 1 {
		t.Fatalf("no room not counted: %+v", relay.VouchStats())
	}
	if len(vouch(nodeID(3), newcomer)) <= len(empty) {
		t.Fatal("no vouch to a second peer")
	}

	c.run(vouchTicks)
	if len(vouch(nodeID(1), newcomer)) != len(empty) {
		t.Fatal("vouched after the window")
	}
	for _, j := range relay.recentJoins {
		if j.id == newcomer {
			t.Fatal("the note outlived the window")
		}
	}

	trusted := newCluster(t, 3, 1, nil)
	trusted.joinAll()
	if len(trusted.nodes[0].recentJoins) != 0 {
		t.Fatal("trusted mode notes joins")
	}
}

// TestVouchBounds: the notes of recent joins and the peers each note
// remembers are bounded, and what the bounds leave out is counted.
func TestVouchBounds(t *testing.T) {
	c := newCluster(t, 3, 7, func(i int, cfg *Config) { authenticate(cfg) })
	c.down[2] = true
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	c.run(vouchTicks)
	c.down[2] = false
	c.nodes[2].Join([]core.NodeID{nodeID(0)})
	c.deliver()
	relay := c.nodes[0]
	for i := 0; i < maxVouchPeers+3; i++ {
		relay.Vouch(nodeID(100+i), []core.NodeID{nodeID(2)}, core.NewFrame(nil), 4096)
	}
	if st := relay.VouchStats(); st.Vouched != maxVouchPeers || st.PeersFull != 3 {
		t.Fatalf("%+v, want %d vouched and 3 left out", st, maxVouchPeers)
	}
	for i := 0; i < maxVouchJoins+5; i++ {
		relay.noteJoin(nodeID(200 + i))
	}
	if n, st := len(relay.recentJoins), relay.VouchStats(); n != maxVouchJoins || st.JoinsDropped != 6 {
		t.Fatalf("%d notes, %d dropped; want %d and 6", n, st.JoinsDropped, maxVouchJoins)
	}
}
