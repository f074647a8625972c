package core

// Plumtree push (Config.Plumtree): on an overlay where each node knows only
// a bounded set of neighbours (membership/overlay's HyParView active view),
// the body of a message travels along a spanning tree that the links
// themselves learn, as in Leitão, Pereira and Rodrigues, "Epidemic Broadcast
// Trees" (SRDS 2007).
//
// Each neighbour link is eager (the default for a new neighbour) or lazy.
// On first receipt from p a node delivers, sends the body to every eager
// neighbour but p and the origin, and announces the key (IHAVE) to every
// lazy one at once. A body that arrives again from an eager neighbour p
// marks p lazy and sends p a PRUNE (RecPrune), as long as at least
// Config.EagerMin eager links remain, so the tree keeps some redundancy for
// loss. A PRUNE from p marks p lazy. An IWANT from p marks p eager, and so
// does sending an IWANT to p (Plumtree's GRAFT, carried by the IWANT).
// Config.PlumRepair repairs the links a PRUNE refused at the floor leaves
// eager one way, and Config.EagerMinPlusShare raises the floor of a share of
// the members by one (plumtree_repair.go).
// Links are state for current neighbours only: when NeighborsVersion
// changes, links to departed neighbours are dropped. A PRUNE or IWANT flood
// only flips one bit per link.

// NeighborLister is an optional interface of a PeerSampler whose peers are
// an overlay's neighbours.
type NeighborLister interface {
	// NeighborsVersion changes whenever the neighbour set changes.
	NeighborsVersion() uint64
	// AppendNeighbors appends every current neighbour, this node excluded.
	AppendNeighbors(dst []NodeID) []NodeID
}

// plumState is the per-link state of Plumtree push.
type plumState struct {
	lazy     map[NodeID]bool // current neighbours: true if the link is lazy
	nbrs     []NodeID        // current neighbours in the lister's order
	lazyBuf  []NodeID        // scratch: the lazy neighbours of one push
	ver      uint64
	ok       bool
	stats    PlumStats
	repair   plumRepair // Config.PlumRepair (plumtree_repair.go)
	floor    int        // PlumFloor, once computed
	floorSet bool
	// lossUntil: the tick until which rounds announce (Config.PlumRoundsAfterLoss)
	lossUntil uint64
	// Config.PlumAnnounceDelayCalls (plumtree_announce.go): announcements
	// waiting for their delay, in order of receipt, and by key.
	announce   []*pendingAnnounce
	announcing map[MsgKey]*pendingAnnounce
}

// PlumStats returns a copy of the Plumtree counters.
func (e *Engine) PlumStats() PlumStats { return e.plum.stats }

// PlumLinks returns how many current neighbour links are eager and lazy.
func (e *Engine) PlumLinks() (eager, lazy int) {
	for _, z := range e.plum.lazy {
		if z {
			lazy++
		} else {
			eager++
		}
	}
	return eager, lazy
}

// AppendPlumEager appends the current neighbours this node's links to are
// eager (it pushes bodies to them), in the overlay's order.
func (e *Engine) AppendPlumEager(dst []NodeID) []NodeID {
	for _, id := range e.plum.nbrs {
		if lazy, known := e.plum.lazy[id]; known && !lazy {
			dst = append(dst, id)
		}
	}
	return dst
}

// plumLister returns the sampler as a NeighborLister if Plumtree is on.
func (e *Engine) plumLister() (NeighborLister, bool) {
	if !e.cfg.Plumtree || e.cfg.Mode == Pull {
		return nil, false
	}
	l, ok := e.cfg.Sampler.(NeighborLister)
	return l, ok
}

// plumRefresh brings the link table up to date with the neighbour set: new
// neighbours start eager, departed ones are forgotten.
func (e *Engine) plumRefresh(l NeighborLister) {
	v := l.NeighborsVersion()
	p := &e.plum
	if p.ok && v == p.ver {
		return
	}
	p.nbrs = l.AppendNeighbors(p.nbrs[:0])
	next := make(map[NodeID]bool, len(p.nbrs))
	for _, id := range p.nbrs {
		if id != e.cfg.ID {
			next[id] = p.lazy[id] // false (eager) for a new neighbour
		}
	}
	for id := range p.lazy {
		if _, ok := next[id]; !ok {
			p.stats.LinksDropped++
			e.plumRepairForget(id)
			e.plumSawLoss() // a neighbour gone, perhaps failed: what it was to pass on may be lost
		}
	}
	p.lazy, p.ver, p.ok = next, v, true
}

// plumPush sends en's body to the eager neighbours and announces it to the
// lazy ones; it reports false when the sampler lists no neighbours.
func (e *Engine) plumPush(en *storeEntry, from NodeID) bool {
	l, ok := e.plumLister()
	if !ok {
		return false
	}
	e.plumRefresh(l)
	origin := en.msg.Origin
	lazyTargets := e.plum.lazyBuf[:0]
	for _, id := range e.plum.nbrs {
		if id == from || id == origin || id == e.cfg.ID {
			continue
		}
		lazy, known := e.plum.lazy[id]
		if !known {
			continue
		}
		if lazy {
			lazyTargets = append(lazyTargets, id)
		} else if e.sendBody(id, en) {
			e.plum.stats.EagerSent++
		}
	}
	if e.cfg.PlumAnnounceDelayCalls > 0 {
		// Chosen per link and sent a little later (plumtree_announce.go).
		e.deferAnnounce(en.msg.Key(), lazyTargets)
		e.plum.lazyBuf = lazyTargets[:0]
		return true
	}
	if k := e.cfg.PlumLazyFanout; k > 0 && len(lazyTargets) > k {
		// A random k of them (partial Fisher-Yates with the engine's rand).
		for i := 0; i < k; i++ {
			j := i + e.rng.IntN(len(lazyTargets)-i)
			lazyTargets[i], lazyTargets[j] = lazyTargets[j], lazyTargets[i]
		}
		e.plum.stats.LazySkipped += uint64(len(lazyTargets) - k)
		lazyTargets = lazyTargets[:k]
	}
	for _, id := range lazyTargets {
		e.sendIHave(id, en.msg.Key())
		e.plum.stats.LazySent++
	}
	e.plum.lazyBuf = lazyTargets[:0]
	return true
}

// plumDuplicate handles a body from p that this node had already seen:
// prune the link if p is an eager neighbour and enough eager links remain.
func (e *Engine) plumDuplicate(p NodeID) {
	l, ok := e.plumLister()
	if !ok {
		return
	}
	e.plumRefresh(l)
	e.plum.stats.Duplicates++
	lazy, known := e.plum.lazy[p]
	if !known {
		return
	}
	repair := e.cfg.PlumRepair
	if lazy {
		if repair {
			e.plumLazyDuplicate(p)
		}
		return
	}
	if e.plumEager() <= e.PlumFloor() || repair && e.plumHeld(p) {
		return
	}
	e.plum.lazy[p] = true
	e.frameFor(p).prune = true
	e.plum.stats.PrunesSent++
	if repair {
		e.plumNotePrune(p)
	}
}

// plumPruned handles a PRUNE from p: the link becomes lazy.
func (e *Engine) plumPruned(p NodeID) {
	e.plum.stats.PrunesReceived++
	l, ok := e.plumLister()
	if !ok {
		return
	}
	e.plumRefresh(l)
	if e.cfg.PlumRepair {
		e.plumPrunedBy(p)
	}
	if lazy, known := e.plum.lazy[p]; known && !lazy && e.plumEager() > e.PlumFloor() {
		e.plum.lazy[p] = true
	}
}

// plumEager counts the eager links.
func (e *Engine) plumEager() int {
	n := 0
	for _, z := range e.plum.lazy {
		if !z {
			n++
		}
	}
	return n
}

// plumGraft makes the link to p eager (an IWANT went to or came from p).
func (e *Engine) plumGraft(p NodeID) {
	l, ok := e.plumLister()
	if !ok {
		return
	}
	e.plumRefresh(l)
	if lazy, known := e.plum.lazy[p]; known && lazy {
		e.plum.lazy[p] = false
		e.plum.stats.Grafts++
	}
}

// plumSawLoss notes evidence of loss under Plumtree (an IWANT sent, a
// neighbour link dropped): the per-round announcements resume for
// Config.PlumRoundsAfterLoss ticks.
func (e *Engine) plumSawLoss() {
	if n := e.cfg.PlumRoundsAfterLoss; n > 0 {
		e.plum.lossUntil = e.ticks + uint64(n)
	}
}

// plumQuiet reports whether this round's announcements are left out:
// Plumtree is pushing, Config.PlumRoundsAfterLoss is set, and no loss was
// seen within it.
func (e *Engine) plumQuiet() bool {
	if e.cfg.PlumRoundsAfterLoss <= 0 || e.ticks < e.plum.lossUntil {
		return false
	}
	_, ok := e.plumLister()
	return ok
}
