package p2p

import (
	"context"
	"github.com/grapevine-p2p/grapevine/core"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/test"
)

// A Peer on a host given with WithHost reports its penalized peers to the
// gater given with WithPenaltyGater, which then refuses them.
func TestWithPenaltyGater(t *testing.T) {
	g := NewPenaltyGater()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ConnectionGater(g), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p, err := New(context.Background(), WithHost(h), WithPenaltyGater(g), WithDHT(false), WithNotice(func(string) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bad := test.RandPeerIDFatal(t)
	if !g.InterceptPeerDial(bad) {
		t.Fatal("the gater refuses a peer that committed no offence")
	}
	for i := 0; i <= invalidAllowance; i++ {
		_ = p.call(context.Background(), func() {
			p.mc.(*nodeMachine).n.Guard().Penalize(NodeID(bad), core.OffenceFlood)
		})
	}
	if g.InterceptPeerDial(bad) || g.InterceptSecured(0, bad, nil) {
		t.Fatal("the gater still lets a penalized peer through")
	}
}
