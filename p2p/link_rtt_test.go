package p2p

import (
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestFastLinkOverQUIC: two peers joined over QUIC on loopback see their
// link as fast (QUIC's round trip well under a call of the LAN profile's
// answer timer); over TCP no round trip is known and no link is fast.
func TestFastLinkOverQUIC(t *testing.T) {
	quic := startPeers(t, 2, false, WithListenAddrs("/ip4/127.0.0.1/udp/0/quic-v1"), WithProfile(ProfileLAN))
	waitFor(t, 20*time.Second, "the QUIC link known to be fast", func() bool {
		return quic[0].mc.(*nodeMachine).FastLink(core.NodeID(quic[1].host.ID()))
	})
	r := quic[0].tr.remote(quic[1].host.ID())
	if rtt := time.Duration(r.rtt.rtt.Load()); rtt <= 0 || rtt >= treeAckWait(ProfileLAN)/fastLinkShare {
		t.Fatalf("round trip %v", rtt)
	}

	tcp := startPeers(t, 2, false, WithProfile(ProfileLAN))
	waitFor(t, 20*time.Second, "the TCP peers joined", func() bool { return alive(tcp[0]) == 2 })
	if tcp[0].tr.fastLink(tcp[1].host.ID()) {
		t.Fatal("a TCP link reported fast")
	}
}
