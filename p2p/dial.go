package p2p

import (
	"context"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Dialling ahead of need: connections to new members (without the
// overlay) and to neighbours (with it) are set up by dialWorkers
// goroutines, off the driver.

// dialWorkers is how many connections to new members are set up at once.
const dialWorkers = 2

// predial asks the dialers to connect to a member that just joined, so
// that the first probe or gossip frame to it does not wait for a
// handshake. Gossip and SWIM talk to uniformly random members, so a
// member ends up connected to the whole group (up to the connection
// manager's low-water mark, beyond which connections are made on demand).
func (p *Peer) predial(id peer.ID) {
	select {
	case p.dials <- id:
	default: // a burst of joins: the rest connect on first use
	}
}

func (p *Peer) dialer() {
	defer p.wg.Done()
	net := p.host.Network()
	for {
		select {
		case <-p.ctx.Done():
			return
		case id := <-p.dials:
			if net.Connectedness(id) != network.Connected {
				if !p.s.overlay && len(net.Peers()) >= p.s.connLow {
					continue
				}
				p.loadAddrs(id)
				ctx, cancel := context.WithTimeout(p.ctx, p.s.dialTimeout)
				err := p.host.Connect(ctx, peer.AddrInfo{ID: id})
				cancel()
				p.dialed(id, err)
				if err != nil {
					continue
				}
			}
			// Open the streams too, so the member's first frames do not
			// wait for negotiation.
			p.tr.warm(id)
		}
	}
}
