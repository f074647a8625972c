package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// In authenticated mode a member that joined puts its own alive on the
// first gossip frame to each peer for selfAnnounceTicks; the receiver
// learns it from that frame. Trusted mode never does.
func TestSelfAnnounce(t *testing.T) {
	c, _ := authCluster(t, 4, 3)
	m := c.nodes[3] // joined through node 0
	if m.announceUntil == 0 {
		t.Fatal("a joined member does not announce itself")
	}
	f := m.Piggyback(nodeID(1), core.NewFrame(nil), 4096)
	if len(f) <= len(core.NewFrame(nil)) || m.AskStats().SelfAnnounced != 1 {
		t.Fatalf("no alive on the first frame to a peer (%d bytes, %d announced)", len(f), m.AskStats().SelfAnnounced)
	}
	dec, err := core.DecodeFrame(f, core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// A member that had not heard of it learns it from the frame.
	fresh := newCluster(t, 5, 3, func(i int, cfg *Config) {
		id := cfg.ID
		cfg.Signer = SignerFunc(func(msg []byte) ([]byte, error) { return testSig(id, msg), nil })
		cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
			if string(sig) != string(testSig(member, msg)) {
				return errTestSig
			}
			return nil
		})
	}).nodes[4]
	if err := fresh.Step(m.ID(), dec); err != nil {
		t.Fatal(err)
	}
	if mem, ok := fresh.Member(m.ID()); !ok || mem.State != StateAlive {
		t.Fatal("the receiver did not learn the announced member")
	}
	if g := m.Piggyback(nodeID(1), core.NewFrame(nil), 4096); m.AskStats().SelfAnnounced != 1 {
		t.Fatalf("announced twice to one peer (%d bytes)", len(g))
	}
	if m.Piggyback(nodeID(2), core.NewFrame(nil), 10); m.AskStats().SelfAnnounced != 1 {
		t.Fatal("announced without room")
	}
	c.run(selfAnnounceTicks)
	if m.Piggyback(nodeID(2), core.NewFrame(nil), 4096); m.AskStats().SelfAnnounced != 1 || m.announcedTo != nil {
		t.Fatal("announced after the window")
	}

	trusted := newCluster(t, 3, 1, nil)
	trusted.joinAll()
	if trusted.nodes[2].announceUntil != 0 {
		t.Fatal("trusted mode announces")
	}
}
