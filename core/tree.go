package core

import (
	"cmp"
	"slices"
)

// Tree push (Config.TreeFanout) sends a message's body along a spanning tree
// of the group that every member derives from its own view, instead of to
// random targets. Members sit on a ring at a 64-bit hash of their ID. The
// origin lists the other members in ring order from a random starting
// point, cuts that list into TreeFanout contiguous chunks of nearly equal
// size, and sends the body to the first member of each chunk together with
// the ring position where the chunk ends (its arc). A member that receives a
// body with an arc does the same with the members it knows strictly inside
// its arc, so a group of n is covered in about log_k n hops, each member
// receiving the body once, in one one-way trip per hop.
//
// Nothing is negotiated: a member that does not know some peer leaves it out
// of its arc, and a dead member swallows its subtree. The tree is therefore
// the fast path only. Repair stays with the random part of the protocol:
// lazy announcements in later rounds (Rounds, Fanout, with IWantDelay so
// that an announcement overtaking a tree body does not fetch a second copy)
// and pull. This is the bimodal design of Birman et al. (Bimodal Multicast,
// ACM TOCS 1999: a best-effort multicast, then gossip repair) with a tree
// that, unlike Plumtree's (Leitão et al., SRDS 2007), needs no per-link state
// and is new for every message (the random start spreads the forwarding load
// over the group and decorrelates the subtrees a failure cuts).

// PeerLister is an optional interface of a PeerSampler that knows every live
// member. Tree push needs it; without it the engine pushes to random targets.
type PeerLister interface {
	// PeersVersion changes whenever the set AppendPeers returns changes.
	PeersVersion() uint64
	// AppendPeers appends every live peer other than this node to dst.
	AppendPeers(dst []NodeID) []NodeID
}

// RingPos is a node's position on the tree-push ring: FNV-1a (64 bit) of its
// ID. Peer IDs are public keys or random, so positions are uniform.
func RingPos(id NodeID) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// Reachability may be implemented by a Transport that learns before
// membership does that a peer cannot be reached now (its connection broke,
// a send to it failed). Tree push routes around such peers: the next member
// of the chunk heads it instead.
type Reachability interface {
	Unreachable(id NodeID) bool
}

type ringPeer struct {
	pos uint64
	id  NodeID
}

// inArc reports whether x lies strictly inside the ring arc running clockwise
// from a to e. The arc from a to itself is the whole ring but a.
func inArc(x, a, e uint64) bool {
	switch {
	case a < e:
		return a < x && x < e
	case a > e:
		return x > a || x < e
	}
	return x != a
}

// refreshRing rebuilds the sorted ring when the membership changed; it
// reports false when the sampler cannot list its peers.
func (e *Engine) refreshRing() bool {
	l, ok := e.cfg.Sampler.(PeerLister)
	if !ok {
		return false
	}
	v := l.PeersVersion()
	if e.ringOK && v == e.ringVer {
		return true
	}
	ids := l.AppendPeers(e.targets[:0])
	e.ring = e.ring[:0]
	for _, id := range ids {
		if id != e.cfg.ID {
			e.ring = append(e.ring, ringPeer{pos: RingPos(id), id: id})
		}
	}
	clear(ids)
	e.targets = ids[:0]
	slices.SortFunc(e.ring, func(a, b ringPeer) int { return cmp.Compare(a.pos, b.pos) })
	e.ringVer, e.ringOK = v, true
	return true
}

// treeChild is one body to send: to whom, and the end of its arc.
type treeChild struct {
	to  NodeID
	end uint64
}

// treeChildren returns where this node forwards a message along the tree.
// root is set for the origin's own message; otherwise end is the end of the
// arc this node was sent. from and origin are never chosen.
func (e *Engine) treeChildren(root bool, end uint64, from, origin NodeID) []treeChild {
	self := RingPos(e.cfg.ID)
	arc := e.arcScratch[:0]
	n := len(e.ring)
	if n > 0 {
		start := 0
		if root {
			start = e.rng.IntN(n)
		} else {
			// First ring member clockwise after this node.
			start, _ = slices.BinarySearchFunc(e.ring, self+1, func(p ringPeer, t uint64) int { return cmp.Compare(p.pos, t) })
		}
		for i := 0; i < n; i++ {
			p := e.ring[(start+i)%n]
			if !root && !inArc(p.pos, self, end) {
				break
			}
			if p.id == from || p.id == origin || p.id == e.cfg.ID {
				continue
			}
			arc = append(arc, p)
		}
	}
	e.arcScratch = arc[:0]
	m := len(arc)
	c := min(e.cfg.TreeFanout, m)
	out := e.childScratch[:0]
	reach, _ := e.cfg.Transport.(Reachability)
	svc := e.service()
	for j := 0; j < c; j++ {
		lo, hi := j*m/c, (j+1)*m/c
		h := lo
		for reach != nil && h < hi && reach.Unreachable(arc[h].id) {
			h++ // route around it; the chunk's next member heads it
		}
		if h == hi {
			continue
		}
		if svc != nil && svc.Unserving(arc[h].id) {
			// A member that takes gossip and serves none would
			// swallow the chunk: a serving member of it heads it
			// instead, if there is one.
			g := h + 1
			for g < hi && (reach != nil && reach.Unreachable(arc[g].id) || svc.Unserving(arc[g].id)) {
				g++
			}
			if g < hi {
				h = g
				e.svcStats.TreeSkipped++
			} else {
				e.svcStats.TreeFallback++
			}
		}
		head := arc[h]
		var childEnd uint64
		switch {
		case j+1 < c:
			childEnd = arc[(j+1)*m/c].pos
		case root:
			childEnd = arc[0].pos // the last chunk closes the ring
		default:
			childEnd = end
		}
		out = append(out, treeChild{to: head.id, end: childEnd})
	}
	e.childScratch = out[:0]
	return out
}

// treePush sends en's body along the tree; it reports false when the
// sampler cannot list its peers (the caller then pushes to random targets).
func (e *Engine) treePush(en *storeEntry, root bool, end uint64, from NodeID) bool {
	if !e.refreshRing() {
		return false
	}
	en.treeDone = true
	for _, c := range e.treeChildren(root, end, from, en.msg.Origin) {
		if e.sendTreeBody(c.to, en, c.end) {
			e.stats.TreeSent++
			if e.wantAcks(c.to) {
				e.awaitAck(c.to, en, c.end)
			}
		}
	}
	return true
}
