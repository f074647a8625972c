package p2p

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// refuseAfter is a connection gater that lets everything through until
// shut is set, then refuses every new connection, both ways.
type refuseAfter struct{ shut atomic.Bool }

func (g *refuseAfter) InterceptPeerDial(peer.ID) bool { return !g.shut.Load() }
func (g *refuseAfter) InterceptAddrDial(peer.ID, multiaddr.Multiaddr) bool {
	return !g.shut.Load()
}
func (g *refuseAfter) InterceptAccept(network.ConnMultiaddrs) bool { return !g.shut.Load() }
func (g *refuseAfter) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return !g.shut.Load()
}
func (g *refuseAfter) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return !g.shut.Load(), 0
}

// A member that stops answering while its connections stay open (a hung
// process, or a crash whose packets are dropped: nothing closes the
// connection before the transport's idle timeout) is declared failed, and
// then the survivors close their connections to it rather than keep its
// state until that timeout.
func TestFailedMemberDisconnected(t *testing.T) {
	peers := startPeers(t, 3, false)
	g := &refuseAfter{}
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ConnectionGater(g), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	victim, err := New(context.Background(), WithHost(h), WithSeeds(peers[0].Addrs()[0].String()),
		WithProfile(ProfileLocal), WithNotice(func(string) {}), WithDHT(false))
	if err != nil {
		t.Fatal(err)
	}
	all := append(peers, victim)
	waitFor(t, 20*time.Second, "membership", func() bool {
		for _, p := range all {
			if alive(p) != len(all) {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "every survivor connected to the victim", func() bool {
		for _, p := range peers {
			if p.host.Network().Connectedness(h.ID()) != network.Connected {
				return false
			}
		}
		return true
	})
	// The victim's Grapevine stops; its host and connections stay up, and
	// it takes no new ones.
	g.shut.Store(true)
	victim.Kill()
	waitFor(t, 60*time.Second, "the victim declared failed and disconnected", func() bool {
		for _, p := range peers {
			dead := false
			for _, m := range p.Members() {
				if m.ID == h.ID() {
					dead = m.State == StateDead
				}
			}
			if !dead || p.host.Network().Connectedness(h.ID()) == network.Connected {
				return false
			}
		}
		return true
	})
}
