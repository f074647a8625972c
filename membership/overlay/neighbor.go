package overlay

import "github.com/grapevine-p2p/grapevine/core"

// This file keeps the active view full, symmetric and alive: NEIGHBOR
// requests and their answers, DISCONNECT, keepalives, and the refill from
// the passive view (HyParView §4.3).

func reply(flags byte) func([]byte) []byte {
	return func(b []byte) []byte { return appendFlags(b, RecNeighborReply, flags) }
}

func disconnect(b []byte) []byte { return appendFlags(b, RecDisconnect, 0) }

// onNeighbor: from asks to become a neighbour. A low-priority request (or
// a join offer) is accepted only below the target; a high-priority one (the
// sender is below ActiveMin) also when full, evicting a random neighbour.
func (o *Overlay) onNeighbor(from core.NodeID, high bool) {
	if o.activeIndex(from) >= 0 {
		o.emit(from, reply(flagAccepted)) // our earlier answer was lost
		return
	}
	if o.addActive(from, high) {
		o.stats.NeighborAccepted++
		o.emit(from, reply(flagAccepted))
		return
	}
	o.stats.NeighborRejected++
	o.emit(from, reply(0))
	o.addPassive(from, nil) // it is alive: a good passive entry
}

// onNeighborReply: an answer to a NEIGHBOR request, or (flagJoin) a node
// that added this one to its active view at the end of a join walk. The
// active view stays symmetric: an acceptance this node cannot honour is
// answered with DISCONNECT.
func (o *Overlay) onNeighborReply(from core.NodeID, flags byte) {
	if flags&(flagAccepted|flagJoin) == flagAccepted|flagJoin {
		o.joinDone = true // the contact took the JOIN in itself
	}
	req, asked := o.takePending(from)
	if flags&flagAccepted == 0 {
		if asked {
			o.addPassive(from, nil) // alive, just full
			switch {
			case !req.high && !req.join:
				o.backOff()
			case req.high && !req.join:
				// Again next tick, not at once: a full node that spent
				// its evictions for this tick rejects until then, and a
				// node whose only candidate it is would ask it over and
				// over within the tick.
				o.nextHigh = o.now + 1
			}
		} else {
			o.stats.Unsolicited++
		}
		return
	}
	if o.activeIndex(from) >= 0 {
		return
	}
	if !asked && flags&flagJoin == 0 {
		o.stats.Unsolicited++ // an answer after our request timed out
	}
	if req.join && !req.high && o.cfg.ActiveSlack > 0 && !o.belowAim() && o.admissible(from) {
		// The end of a join walk at its target: splice the joiner into
		// one of its links rather than grow (splice.go); if the tick's
		// evictions are spent it grows, up to the cap.
		o.spliceEvict(from)
	}
	if o.addActive(from, req.join) {
		o.resetBackoff()
		return
	}
	o.emit(from, disconnect)
	o.addPassive(from, nil)
}

// onDisconnect: from closed the link. It goes to the passive view unless
// it is leaving.
func (o *Overlay) onDisconnect(from core.NodeID, leaving bool) {
	o.removePending(from)
	if i := o.activeIndex(from); i >= 0 {
		o.removeActive(i, Disconnected)
	}
	if leaving {
		o.removePassive(from)
	} else {
		o.addPassive(from, nil)
	}
}

// onKeepalive: a ping is answered by a neighbour. A ping from a node that
// is not one means it believes in a link this node does not (an answer or
// a DISCONNECT was lost): if this node asked it, or simply has room, it
// takes the link (the sender could as well have asked with NEIGHBOR);
// otherwise it answers DISCONNECT, so both ends agree again.
func (o *Overlay) onKeepalive(from core.NodeID, ping bool) {
	if o.activeIndex(from) >= 0 {
		if ping {
			o.emit(from, func(b []byte) []byte { return appendFlags(b, RecKeepalive, 0) })
		}
		return
	}
	if !ping {
		o.stats.Unsolicited++
		return
	}
	o.stats.AsymmetryRepaired++
	_, asked := o.takePending(from)
	if (asked || !o.full()) && o.addActive(from, false) {
		o.emit(from, func(b []byte) []byte { return appendFlags(b, RecKeepalive, 0) })
		return
	}
	o.emit(from, disconnect)
}

// keepalive pings silent neighbours (again every KeepaliveTicks/2 while
// they stay silent) and declares failed those silent for FailTicks: a
// crashed peer whose packets vanish is found without any close.
func (o *Overlay) keepalive() {
	ka, fail := int64(o.cfg.KeepaliveTicks), int64(o.cfg.FailTicks)
	for i := 0; i < len(o.active); {
		p := &o.active[i]
		p.walks = 0
		silent := o.now - p.heard
		if silent >= fail && !o.holdFailures() {
			o.stats.KeepaliveFailures++
			o.removeActive(i, Failed) // not kept in the passive view
			continue
		}
		// Of the two ends of a link the one with the smaller ID pings
		// first; the other only if it has heard nothing for twice as long
		// (its partner failed, or believes the link gone), so a quiet link
		// costs one ping and one pong per KeepaliveTicks, not two of each.
		after := ka
		if p.second {
			after = 2 * ka
		}
		if silent >= after && o.now-p.pinged >= ka/2 {
			p.pinged = o.now
			o.stats.PingsSent++
			o.emit(p.id, func(b []byte) []byte { return appendFlags(b, RecKeepalive, flagPing) })
		}
		i++
	}
}

// expireRequests gives up NEIGHBOR requests unanswered for RequestTimeout:
// the node is presumed failed and leaves the passive view.
func (o *Overlay) expireRequests() {
	for i := 0; i < len(o.pending); {
		if o.now-o.pending[i].sent < int64(o.cfg.RequestTimeout) || o.holdFailures() {
			i++
			continue
		}
		id := o.pending[i].id
		o.removePending(id)
		o.removePassive(id)
		o.stats.NeighborTimeouts++
	}
}

// fill sends NEIGHBOR requests to random passive entries while the active
// view (with the requests in flight) is below its target. Below ActiveMin
// requests have high priority and as many may be in flight as neighbours
// are missing; at or above it at most LowPriorityPending, with low priority
// (accepted only by a node with room) unless ActiveSlack is set and two or
// more neighbours are missing: a full receiver then evicts a neighbour,
// which is left above its own target and looks for nothing, where a
// rejection would have cost the request and left this node short (over
// libp2p each request is a dial and a handshake). After a rejected
// low-priority request the next waits (doubling up to FillBackoffMax), so
// the few nodes left one short of a full view in a saturated overlay do not
// ask full nodes over and over. With no passive entry left it asks for more
// with an early SHUFFLE; with no neighbour at all Tick retries JOIN.
func (o *Overlay) fill() {
	need := o.Target() - len(o.active) - len(o.pending)
	if need <= 0 {
		return
	}
	high := len(o.active) < o.cfg.ActiveMin
	urgent := high || (o.cfg.ActiveSlack > 0 && o.Target()-len(o.active) >= 2)
	if urgent && o.now < o.nextHigh {
		return
	}
	limit := o.cfg.LowPriorityPending
	if high {
		limit = max(limit, o.Target()-len(o.active))
	} else if o.now < o.nextFill {
		return
	}
	for need > 0 && len(o.pending) < limit {
		id := o.randomCandidate()
		if id == "" {
			id = o.memberCandidate()
		}
		if id == "" {
			o.shuffleSoon()
			return
		}
		o.pending = append(o.pending, request{id: id, sent: o.now, high: urgent})
		o.stats.NeighborRequests++
		flags := byte(0)
		if urgent {
			flags = flagHigh
		}
		o.emit(id, func(b []byte) []byte { return appendFlags(b, RecNeighbor, flags) })
		need--
	}
}

// backOff delays the next low-priority request after a rejection.
func (o *Overlay) backOff() {
	o.fillBackoff = min(max(1, 2*o.fillBackoff), o.cfg.FillBackoffMax)
	o.nextFill = o.now + int64(o.fillBackoff)
}

// resetBackoff lets low-priority requests go at once again (a neighbour
// accepted or was lost).
func (o *Overlay) resetBackoff() { o.fillBackoff, o.nextFill = 0, 0 }

// randomCandidate is a random passive entry with no request in flight.
func (o *Overlay) randomCandidate() core.NodeID {
	n := len(o.passive)
	if n == 0 {
		return ""
	}
	start := o.rng.IntN(n)
	for k := 0; k < n; k++ {
		id := o.passive[(start+k)%n]
		if o.pendingIndex(id) < 0 {
			return id
		}
	}
	return ""
}

// memberCandidate is a member drawn from the whole group (Config.RandomPeer)
// that is neither a neighbour nor asked already, for a node whose passive
// view has no candidate left: a node that joined late in a flash crowd can
// hold two or three neighbours and an empty passive view, and shuffles,
// whose answers go to neighbours only (ShuffleReplyToNeighbors), would not
// refill it (stackexp n = 1,000: six nodes stayed at 2 to 4 neighbours,
// and a crashed one with 4 was confirmed by too few to be declared within
// 10 s).
//
// Not within JoinRetryTicks of this node's last JOIN: a joiner's passive
// view starts empty, and its join walks, not links to random members (each
// a dial, and an eviction at a full member), are what bring it neighbours
// (asking at once doubled a newcomer's connections in bench's first
// scenario, N = 50).
func (o *Overlay) memberCandidate() core.NodeID {
	if o.cfg.RandomPeer == nil || (o.joinTries > 0 && o.now-o.lastJoin < int64(o.cfg.JoinRetryTicks)) {
		return ""
	}
	for try := 0; try < 3; try++ {
		id := o.cfg.RandomPeer()
		if id != "" && id != o.self && o.activeIndex(id) < 0 && o.pendingIndex(id) < 0 && o.admissible(id) {
			o.stats.MemberCandidates++
			return id
		}
	}
	return ""
}

// randomLink asks a member drawn from the whole group (Config.RandomPeer)
// for a link with high priority (Config.RandomLinkTicks): on acceptance
// this node adds it, evicting one of its own neighbours if full.
func (o *Overlay) randomLink() {
	if o.cfg.RandomPeer == nil || len(o.active) < o.cfg.ActiveMin || len(o.pending) >= o.cfg.MaxPending {
		return
	}
	id := o.cfg.RandomPeer()
	if id == "" || o.activeIndex(id) >= 0 || o.pendingIndex(id) >= 0 || !o.admissible(id) {
		return
	}
	o.pending = append(o.pending, request{id: id, sent: o.now, high: true, join: true})
	o.stats.RandomLinks++
	o.emit(id, func(b []byte) []byte { return appendFlags(b, RecNeighbor, flagHigh) })
}
