package core

// Repair of one-way Plumtree links (Config.PlumRepair).
//
// A duplicate body from eager neighbour p makes this node mark p lazy and
// send p a PRUNE; p obeys only above its own EagerMin, so a p at its floor
// refuses silently and goes on pushing bodies to this node while this node
// no longer pushes to p. The link is then eager one way, the refuser keeps
// sending duplicates, and p, like every node at its floor, receives
// eagerly from fewer neighbours than it sends to (docs/overlay.md, "Tried
// in session 11").
//
// PlumRepairRestore reads a further duplicate from p, arriving at least
// plumRefusalTicks after the PRUNE (so not one that crossed it), as p's
// refusal: the link to p becomes eager again, so the link is eager both
// ways, and this node does not prune p again for plumHoldTicks (after
// which a PRUNE is tried again: p may have gained links, or the first
// PRUNE may have been lost). No frame changes on the wire.

// Values of Config.PlumRepair.
const (
	PlumRepairOff     = 0 // a refused PRUNE leaves the link one-way
	PlumRepairRestore = 1 // the pruner restores a link whose PRUNE was refused
	PlumRepairSwap    = 2 // a node at its floor obeys a PRUNE and grafts another neighbour
)

const (
	// plumRefusalTicks: a duplicate this many ticks after the PRUNE
	// cannot have crossed it (a tick is 100 ms on a LAN, a round trip a
	// few tens of ms).
	plumRefusalTicks = 2
	// plumHoldTicks: how long a restored link is not pruned again.
	plumHoldTicks = 100
)

// PlumRepairStats counts what Config.PlumRepair did.
type PlumRepairStats struct {
	Refusals uint64 // duplicates read as a refused PRUNE: links restored to eager
	Retries  uint64 // PRUNEs sent again to a neighbour whose hold expired
	Swaps    uint64 // PRUNEs obeyed at the floor, another link grafted instead
}

// plumRepair is the per-link state of the repair.
type plumRepair struct {
	pruned map[NodeID]uint64 // neighbours this node pruned: the tick of the PRUNE
	held   map[NodeID]uint64 // restored links: not pruned again before this tick
	// prunedBy: neighbours that pruned this node, the tick of their PRUNE
	// (PlumRepairSwap does not graft them again for plumHoldTicks)
	prunedBy map[NodeID]uint64
	cands    []NodeID // scratch for PlumRepairSwap
	stats    PlumRepairStats
}

// PlumRepairStats returns a copy of the repair counters.
func (e *Engine) PlumRepairStats() PlumRepairStats { return e.plum.repair.stats }

// plumRepairOn reports whether one-way links are repaired.
func (e *Engine) plumRepairOn() bool { return e.cfg.PlumRepair == PlumRepairRestore }

// plumSwap handles a PRUNE from eager neighbour p at the floor under
// PlumRepairSwap: the link to p becomes lazy, and a random lazy neighbour
// that has not pruned this node within plumHoldTicks becomes eager, so the
// link to p is lazy both ways and the floor holds.
func (e *Engine) plumSwap(p NodeID) {
	r := &e.plum.repair
	if r.prunedBy == nil {
		r.prunedBy = make(map[NodeID]uint64)
	}
	r.prunedBy[p] = e.ticks
	cands := r.cands[:0]
	for _, id := range e.plum.nbrs {
		if lazy, known := e.plum.lazy[id]; !known || !lazy || id == p {
			continue
		}
		if at, ok := r.prunedBy[id]; ok && e.ticks < at+plumHoldTicks {
			continue
		}
		cands = append(cands, id)
	}
	r.cands = cands[:0]
	if len(cands) == 0 {
		return // refused, as without the repair
	}
	e.plum.lazy[p] = true
	e.plum.lazy[cands[e.rng.IntN(len(cands))]] = false
	r.stats.Swaps++
}

// plumRepairForget drops the repair state of a departed neighbour.
func (e *Engine) plumRepairForget(p NodeID) {
	delete(e.plum.repair.pruned, p)
	delete(e.plum.repair.held, p)
	delete(e.plum.repair.prunedBy, p)
}

// plumNotePrune records that this node sent p a PRUNE.
func (e *Engine) plumNotePrune(p NodeID) {
	r := &e.plum.repair
	if r.pruned == nil {
		r.pruned = make(map[NodeID]uint64)
	}
	if _, was := r.held[p]; was {
		delete(r.held, p)
		r.stats.Retries++
	}
	r.pruned[p] = e.ticks
}

// plumHeld reports whether the eager link to p is held against pruning.
func (e *Engine) plumHeld(p NodeID) bool {
	until, ok := e.plum.repair.held[p]
	return ok && e.ticks < until
}

// plumLazyDuplicate handles a duplicate from p over a link this node holds
// lazy: if this node pruned p long enough ago, p refused, and the link
// becomes eager again and is held.
func (e *Engine) plumLazyDuplicate(p NodeID) {
	r := &e.plum.repair
	at, ok := r.pruned[p]
	if !ok || e.ticks < at+plumRefusalTicks {
		return
	}
	delete(r.pruned, p)
	if r.held == nil {
		r.held = make(map[NodeID]uint64)
	}
	r.held[p] = e.ticks + plumHoldTicks
	e.plum.lazy[p] = false
	r.stats.Refusals++
}

// plumPrunedBy handles a PRUNE from p for the repair: p pushes no more, so
// a hold on the link (kept for p's sake) ends.
func (e *Engine) plumPrunedBy(p NodeID) {
	delete(e.plum.repair.held, p)
	delete(e.plum.repair.pruned, p)
}
