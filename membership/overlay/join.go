package overlay

import "github.com/grapevine-p2p/grapevine/core"

// onJoin: from joins through this node (HyParView §4.2). The contact
// starts a FORWARD_JOIN walk of ARWL hops through JoinWalks of its
// neighbours (the paper: all); each walk ends in an offer of a link to the
// joiner, so a joiner gets up to JoinWalks neighbours spread over the group.
// The contact itself links up with the joiner only if it has room. (The
// paper's contact always adds the joiner, evicting a random neighbour:
// a bootstrap node would then replace a neighbour with every join, and
// every node it evicted would keep it as a passive entry, making it the
// target of a large share of all NEIGHBOR requests after a failure.)
func (o *Overlay) onJoin(from core.NodeID) {
	if o.activeIndex(from) >= 0 {
		// A retry whose answer was lost: answer again, do not walk again.
		o.stats.JoinsDuplicate++
		o.emit(from, reply(flagAccepted|flagJoin))
		return
	}
	if o.recentlyWalked(from) {
		// A peer cannot make this node start walks by repeating JOIN.
		o.stats.JoinsDuplicate++
		return
	}
	if o.joinsThisTick >= o.cfg.JoinsPerTick {
		o.stats.JoinsDropped++
		return
	}
	if !o.admissible(from) {
		return
	}
	o.joinsThisTick++
	o.stats.JoinsAccepted++
	o.recentJoins[o.recentNext] = recentJoin{id: from, at: o.now}
	o.recentNext = (o.recentNext + 1) % len(o.recentJoins)
	ttl := o.cfg.ARWL
	// JoinWalks walks through as many neighbours, picked at random.
	walks := min(o.cfg.JoinWalks, len(o.active))
	for i := 0; i < walks; i++ {
		j := i + o.rng.IntN(len(o.active)-i)
		o.active[i], o.active[j] = o.active[j], o.active[i]
		id := o.active[i].id
		o.emit(id, func(b []byte) []byte { return appendForwardJoin(b, from, ttl) })
	}
	if o.belowAim() && o.addActive(from, false) {
		o.emit(from, reply(flagAccepted|flagJoin))
	}
}

// recentlyWalked reports whether a walk was started for joiner within the
// last JoinRetryTicks.
func (o *Overlay) recentlyWalked(joiner core.NodeID) bool {
	for _, r := range o.recentJoins {
		if r.id == joiner && o.now-r.at < int64(o.cfg.JoinRetryTicks) {
			return true
		}
	}
	return false
}

// walkAllowed reports whether a random-walk record (FORWARD_JOIN, SHUFFLE)
// from from may be handled: walks travel over active links only, and each
// neighbour gets WalksPerPeerPerTick of them per tick.
func (o *Overlay) walkAllowed(from core.NodeID) bool {
	i := o.activeIndex(from)
	if i < 0 {
		o.stats.NotNeighbor++
		return false
	}
	if o.active[i].walks >= o.cfg.WalksPerPeerPerTick {
		o.stats.WalksDropped++
		return false
	}
	o.active[i].walks++
	return true
}

// clampTTL bounds a TTL from the wire to max.
func (o *Overlay) clampTTL(ttl uint64, max int) int {
	if ttl > uint64(max) {
		o.stats.TTLClamped++
		return max
	}
	return int(ttl)
}

// onForwardJoin: one step of a join's random walk. The node where the TTL
// reaches 0 (or that has no other neighbour to forward to), or one with
// room in its active view once the TTL is down to PRWL, links up with the
// joiner; the node at TTL PRWL adds it to its passive view.
func (o *Overlay) onForwardJoin(from core.NodeID, m *msg) {
	if !o.walkAllowed(from) {
		return
	}
	joiner := m.id
	if joiner == o.self {
		o.stats.SelfDropped++
		return
	}
	o.stats.ForwardJoins++
	ttl := o.clampTTL(m.ttl, o.cfg.ARWL)
	if ttl == 0 || len(o.active) == 1 || (ttl <= o.cfg.PRWL && o.belowAim()) {
		o.acceptJoiner(joiner)
		return
	}
	if ttl == o.cfg.PRWL {
		o.addPassive(joiner, nil)
	}
	next := o.randomActive(from, joiner)
	if next == "" {
		o.acceptJoiner(joiner)
		return
	}
	o.emit(next, func(b []byte) []byte { return appendForwardJoin(b, joiner, ttl-1) })
}

// acceptJoiner ends a join walk here. Rather than adding the joiner
// outright, as the paper does, this node offers it a link (NEIGHBOR with
// flagJoin) and adds it, evicting if full, when it accepts: a joiner named
// by a walk is only a claim of the neighbour that forwarded it, and a
// hostile neighbour must not be able to fill this node's active view with
// IDs that never answer.
func (o *Overlay) acceptJoiner(joiner core.NodeID) {
	if o.activeIndex(joiner) >= 0 || o.pendingIndex(joiner) >= 0 || !o.admissible(joiner) {
		return
	}
	if len(o.pending) >= o.cfg.ActiveMax || (o.full() && o.evictionsThisTick >= o.cfg.EvictionsPerTick) {
		o.stats.AddRefused++
		if len(o.pending) < o.cfg.ActiveMax {
			o.stats.EvictionsDenied++
		}
		o.addPassive(joiner, nil)
		return
	}
	o.pending = append(o.pending, request{id: joiner, sent: o.now, join: true})
	o.stats.JoinOffers++
	o.emit(joiner, func(b []byte) []byte { return appendFlags(b, RecNeighbor, flagOffer) })
}
