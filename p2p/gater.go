package p2p

import (
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater refuses connections from peers penalized for sending messages that
// fail verification, once their identity is known (after the security
// handshake): without it such a peer reconnects at once and every stream
// it opens costs the decryption of what it sends before the reset. Only
// hosts the Peer builds have it (not WithHost).
type gater struct {
	tr atomic.Pointer[transport]
}

func (g *gater) penalized(id peer.ID) bool {
	t := g.tr.Load()
	if t == nil {
		return false
	}
	return t.penalizedPeer(id)
}

func (g *gater) InterceptPeerDial(id peer.ID) bool                               { return !g.penalized(id) }
func (g *gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool                    { return true }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool                     { return true }
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
func (g *gater) InterceptSecured(_ network.Direction, id peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.penalized(id)
}
