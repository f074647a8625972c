package overlay

import (
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// This file splices a joiner into an existing link when a join walk ends at
// a node that already holds its target (Config.ActiveSlack > 0).
//
// Without it every walk that ends at such a node adds a link: the node
// grows past its target, the joiner gains one neighbour, and in a group
// that keeps growing the views drift up to the cap (stackexp -n 1000: the
// median view 16 for a target of 12), each link a connection to keep. With
// it the node X, once the joiner J accepts its offer, drops a random
// neighbour B and tells B to link to J instead (SPLICE naming J, just
// before the DISCONNECT): X and B keep their sizes and J gains two
// neighbours from one walk. It is the edge splitting by which Law and Siu
// build random regular graphs ("Distributed construction of random
// expander networks", INFOCOM 2003); the joiner needs half as many walks.
//
// A SPLICE is a neighbour's claim and is checked as one: only from an active
// neighbour, whose link it ends (one per link), and only as a low-priority
// request to an admissible node that is neither a neighbour nor asked
// already. A hostile neighbour gains what a SHUFFLE entry gives
// it, one request from this node to a node of its choice, and pays for it
// with its own link.

func appendSplice(dst []byte, joiner core.NodeID) []byte {
	return core.AppendRecord(dst, RecSplice, wire.AppendString(nil, string(joiner)))
}

// spliceEvict drops a random neighbour to make room for joiner and tells
// it to link to the joiner instead, if the tick's eviction budget allows.
func (o *Overlay) spliceEvict(joiner core.NodeID) {
	if len(o.active) == 0 || o.evictionsThisTick >= o.cfg.EvictionsPerTick {
		return
	}
	o.evictionsThisTick++
	i := o.rng.IntN(len(o.active))
	o.stats.SplicesSent++
	o.emit(o.active[i].id, func(b []byte) []byte { return appendSplice(b, joiner) })
	o.evict(i)
}

// onSplice: a neighbour drops this node and names the joiner that takes its
// place; the link ends here at once (the DISCONNECT that follows finds it
// gone), so a neighbour gets one SPLICE acted on per link, and this node
// asks the joiner for a link.
func (o *Overlay) onSplice(from core.NodeID, joiner core.NodeID) {
	i := o.activeIndex(from)
	if i < 0 {
		o.stats.SpliceRefused++
		return
	}
	o.removeActive(i, Disconnected)
	o.addPassive(from, nil)
	if o.full() || joiner == from || o.activeIndex(joiner) >= 0 || o.pendingIndex(joiner) >= 0 || !o.admissible(joiner) {
		o.stats.SpliceRefused++
		return
	}
	o.stats.SpliceRequests++
	o.pending = append(o.pending, request{id: joiner, sent: o.now})
	o.stats.NeighborRequests++
	o.emit(joiner, func(b []byte) []byte { return appendFlags(b, RecNeighbor, 0) })
}
