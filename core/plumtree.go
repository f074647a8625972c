package core

import "slices"

// Plumtree (Config.Plumtree) pushes bodies over the links of a bounded
// overlay instead of a tree over the whole group: Leitão, Pereira and
// Rodrigues, "Epidemic Broadcast Trees" (SRDS 2007). Each link to a
// neighbour is eager or lazy; a new neighbour starts eager. On first
// receipt (or publish) a node sends the body to its eager neighbours but
// the one it came from; lazy neighbours hear of it from the rounds'
// announcements (IHAVE to Fanout random neighbours, with IWantDelay). A
// node that receives a body it already has from an eager neighbour makes
// that link lazy and tells the sender to do the same (PRUNE), so the eager
// links shrink to a spanning tree and each node receives about one body.
// A node that fetches a body with IWANT grafts the link it asked over (it
// turns eager at both ends: sending and receiving an IWANT both graft), so
// a tree cut by a failure or loss is mended where the repair came from.
// Config.EagerMin keeps some redundancy: a node does not prune below that
// many eager links, so a loss on one path often finds the body already
// on its way over another.
//
// The state is one bit per current neighbour (lazy), dropped when the
// neighbour leaves the view. A PRUNE or IWANT only flips that bit for the
// link it arrived on, so a hostile neighbour gains nothing by sending
// them: at worst it stops receiving eager pushes, or receives them again.

// NeighborLister is an optional interface of a PeerSampler whose peers are
// an overlay's neighbours (grapevine.Node with Config.Overlay). Plumtree
// needs it.
type NeighborLister interface {
	// NeighborsVersion changes whenever the neighbour set changes.
	NeighborsVersion() uint64
	// AppendNeighbors appends every current neighbour (this node
	// excluded) to dst.
	AppendNeighbors(dst []NodeID) []NodeID
}

// plumtree returns the sampler as a NeighborLister when Plumtree is on.
func (e *Engine) plumtree() (NeighborLister, bool) {
	if !e.cfg.Plumtree {
		return nil, false
	}
	l, ok := e.cfg.Sampler.(NeighborLister)
	return l, ok
}

// refreshNeighbors reloads the neighbour list when it changed and forgets
// the link state of former neighbours.
func (e *Engine) refreshNeighbors(l NeighborLister) {
	v := l.NeighborsVersion()
	if e.nbrOK && v == e.nbrVer {
		return
	}
	clear(e.nbrs)
	e.nbrs = l.AppendNeighbors(e.nbrs[:0])
	e.nbrVer, e.nbrOK = v, true
	for id := range e.lazyLinks {
		if !slices.Contains(e.nbrs, id) {
			delete(e.lazyLinks, id)
		}
	}
}

// isNeighbor reports whether id is a current neighbour (after a refresh).
func (e *Engine) isNeighbor(id NodeID) bool { return slices.Contains(e.nbrs, id) }

// plumPush sends en's body to every eager neighbour but from and the
// origin.
func (e *Engine) plumPush(l NeighborLister, en *storeEntry, from NodeID) {
	e.refreshNeighbors(l)
	for _, id := range e.nbrs {
		if id == from || id == en.msg.Origin || id == e.cfg.ID || e.lazyLinks[id] {
			continue
		}
		if e.sendBody(id, en) {
			e.stats.EagerSent++
		}
	}
}

// plumDuplicate handles a body this node already had, received from from:
// an eager link that delivered a second copy turns lazy and the sender is
// asked to prune it too, unless this node is down to EagerMin eager links.
func (e *Engine) plumDuplicate(from NodeID) {
	l, ok := e.plumtree()
	if !ok || from == "" {
		return
	}
	e.refreshNeighbors(l)
	if !e.isNeighbor(from) || e.lazyLinks[from] {
		return
	}
	if len(e.nbrs)-len(e.lazyLinks) <= e.cfg.EagerMin {
		return
	}
	e.lazyLinks[from] = true
	e.frameFor(from).prune = true
	e.stats.PrunesSent++
}

// onPrune makes the link to from lazy at its request.
func (e *Engine) onPrune(from NodeID) {
	l, ok := e.plumtree()
	if !ok {
		return
	}
	e.refreshNeighbors(l)
	if !e.isNeighbor(from) {
		return
	}
	e.stats.PrunesReceived++
	e.lazyLinks[from] = true
}

// graft makes the link to id eager again (an IWANT sent or received over
// it).
func (e *Engine) graft(id NodeID) {
	if !e.cfg.Plumtree || !e.lazyLinks[id] {
		return
	}
	delete(e.lazyLinks, id)
	e.stats.Grafts++
}
