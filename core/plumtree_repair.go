package core

import "hash/fnv"

// Repair of one-way Plumtree links (Config.PlumRepair) and the share of
// members that keep one more eager link (Config.EagerMinPlusShare).
//
// A duplicate body from eager neighbour p makes this node mark p lazy and
// send p a PRUNE; p obeys only above its own floor of EagerMin eager links,
// so a p at its floor refuses silently and goes on pushing bodies to this
// node while this node no longer pushes to p. The link is then eager one
// way, the refuser keeps sending duplicates, and a quarter of the members of a
// group of 1,000 receive eagerly from a single neighbour (43 % while IWANTs
// were timed in ticks; docs/overlay.md, "Tried in session 11").
//
// With PlumRepair, a further duplicate from p, arriving at least
// plumRefusalTicks after the PRUNE (so not one that crossed it), is read as
// p's refusal: the link to p becomes eager again, so it is eager both ways,
// and this node does not prune p again for plumHoldTicks (then it tries
// once more: p may have gained links, or the PRUNE may have been lost). No
// frame changes on the wire. Links then end eager both ways or lazy both
// ways, the eager graph is nearly undirected, and a member sends a body to
// (eager links − 1) neighbours, not back to the one it came from. Measured
// with testnet/cmd/stackexp (p2p's LAN profile, 2–20 ms links): with
// EagerMin 3 the repair costs within 5 % of EagerMin 2's bytes per delivery
// for a p99 17–27 % lower, near EagerMin 3's alone (which costs 11–19 %
// more bytes); with EagerMin 2 it saves 7–8 % of the bytes for a p99 up
// to 12 % higher, because an undirected graph where most members have two
// links is long chains. EagerMinPlusShare sets a floor between the two.

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
}

// plumRepair is the per-link state of the repair.
type plumRepair struct {
	pruned map[NodeID]uint64 // neighbours this node pruned: the tick of the PRUNE
	held   map[NodeID]uint64 // restored links: not pruned again before this tick
	stats  PlumRepairStats
}

// PlumRepairStats returns a copy of the repair counters.
func (e *Engine) PlumRepairStats() PlumRepairStats { return e.plum.repair.stats }

// PlumFloor returns the fewest eager links this node keeps: Config.EagerMin,
// plus one if the node is among Config.EagerMinPlusShare.
func (e *Engine) PlumFloor() int {
	p := &e.plum
	if !p.floorSet {
		p.floor, p.floorSet = e.cfg.EagerMin, true
		if s := e.cfg.EagerMinPlusShare; s > 0 {
			// A hash of the ID, not the engine's random source: the
			// choice is the same at every start, and draws nothing
			// that other decisions would have drawn.
			h := fnv.New64a()
			h.Write([]byte(e.cfg.ID))
			if float64(mix64(h.Sum64())>>11)/(1<<53) < s {
				p.floor++
			}
		}
	}
	return p.floor
}

// mix64 is SplitMix64's finaliser: FNV-1a's high bits barely change
// between IDs that differ in their last bytes.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// plumRepairForget drops the repair state of a departed neighbour.
func (e *Engine) plumRepairForget(p NodeID) {
	delete(e.plum.repair.pruned, p)
	delete(e.plum.repair.held, p)
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
// what this node recorded of the link ends.
func (e *Engine) plumPrunedBy(p NodeID) {
	delete(e.plum.repair.held, p)
	delete(e.plum.repair.pruned, p)
}
