package core

// Deferred, paired announcements under Plumtree
// (Config.PlumAnnounceDelayCalls).
//
// On first receipt a node announces a message (IHAVE) to a few lazy
// neighbours. Each announcement is a frame and a packet of its own at that
// moment, and most of them go to neighbours that already hold the message:
// without loss an announcement helps nobody, and it cost more frames than
// the bodies themselves (4 against 1.8 per delivery at N = 50 over QUIC).
//
// With the option, a node chooses the lazy neighbours to announce to by a
// hash of the message key and the two members of the link, the same on
// both ends (pairAnnounce), so that for a given message the two ends of a
// link choose each other. It then waits PlumAnnounceDelayCalls calls of
// ResendUnanswered before it announces, and leaves out every chosen
// neighbour that showed in the meantime that it holds the message: an
// IHAVE or a body from it (plumHeard). Of the two ends of a chosen link,
// the one that received the message first announces, the later one hears
// that announcement before its own is due and stays silent: about one
// announcement per chosen link instead of two.
//
// What a node missing the message hears is unchanged: each lazy neighbour
// holding the message chose the link with the same probability as before
// (PlumLazyFanout out of its lazy neighbours), and announces unless it
// learnt that the node holds it. The delay comes on top of the receiver's
// own wait before its IWANT (IWantDelayCalls), which exists to let an eager
// body win the race against the announcement; a profile that sets both
// shortens that wait by the delay, so a body lost with a crashed neighbour
// is asked for after about the same time as before.

// maxPendingAnnounces bounds the announcements waiting for their delay;
// beyond it the oldest are sent at once (PlumStats.AnnouncedEarly).
const maxPendingAnnounces = 1024

// pendingAnnounce is a message's announcements waiting for their delay.
type pendingAnnounce struct {
	key     MsgKey
	targets []NodeID // chosen lazy neighbours not yet known to hold key
	gen     uint64   // Engine.ackGen at first receipt
	tick    uint64   // Engine.ticks at first receipt
}

// pairAnnounce reports whether the link between this node and nbr is chosen
// to carry k's announcement, with probability about share (in [0, 1]). The
// hash covers k and the two IDs in a fixed order, so both ends agree.
func (e *Engine) pairAnnounce(k MsgKey, nbr NodeID, share float64) bool {
	if share >= 1 {
		return true
	}
	a, b := e.cfg.ID, nbr
	if b < a {
		a, b = b, a
	}
	h := AckHash(k)
	h = fnvAppend(h, a)
	h ^= 0xff // separates a from b
	h *= 1099511628211
	h = fnvAppend(h, b)
	// FNV alone spreads its last bytes poorly into the high bits (the
	// choice would hardly depend on b); MurmurHash3's finaliser mixes every
	// bit into every other.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	// The top 53 bits as a fraction in [0, 1).
	return float64(h>>11)/(1<<53) < share
}

// fnvAppend continues an FNV-1a (64 bit) hash over s.
func fnvAppend(h uint64, s NodeID) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// deferAnnounce chooses k's lazy targets among lazy (this call's scratch
// slice) and queues their announcement.
func (e *Engine) deferAnnounce(k MsgKey, lazy []NodeID) {
	share := 1.0
	if n := e.cfg.PlumLazyFanout; n > 0 && len(lazy) > n {
		share = float64(n) / float64(len(lazy))
	}
	var targets []NodeID
	for _, id := range lazy {
		if e.pairAnnounce(k, id, share) {
			targets = append(targets, id)
		}
	}
	e.plum.stats.LazySkipped += uint64(len(lazy) - len(targets))
	if len(targets) == 0 {
		return
	}
	p := &e.plum
	if len(p.announce) >= maxPendingAnnounces {
		p.stats.AnnouncedEarly++
		e.sendAnnounce(p.announce[0])
		p.announce[0] = nil
		p.announce = p.announce[1:]
	}
	pa := &pendingAnnounce{key: k, targets: targets, gen: e.ackGen, tick: e.ticks}
	if p.announcing == nil {
		p.announcing = make(map[MsgKey]*pendingAnnounce)
	}
	p.announcing[k] = pa
	p.announce = append(p.announce, pa)
}

// plumHeard notes that from holds k (it announced or sent k): a pending
// announcement of k to from is left out.
func (e *Engine) plumHeard(from NodeID, k MsgKey) {
	pa := e.plum.announcing[k]
	if pa == nil {
		return
	}
	for i, id := range pa.targets {
		if id == from {
			pa.targets = append(pa.targets[:i], pa.targets[i+1:]...)
			e.plum.stats.LazySuppressed++
			return
		}
	}
}

// flushAnnounces sends the pending announcements that are due: those
// PlumAnnounceDelayCalls calls old, or (onTick) those that no call has
// followed for a tick, for adapters that do not call ResendUnanswered.
func (e *Engine) flushAnnounces(onTick bool) {
	if l, ok := e.plumLister(); ok {
		e.plumRefresh(l) // sendAnnounce checks the targets are still neighbours
	}
	p := &e.plum
	n := 0
	for _, pa := range p.announce {
		due := e.ackGen-pa.gen >= uint64(e.cfg.PlumAnnounceDelayCalls)
		if onTick {
			due = pa.gen == e.ackGen && e.ticks > pa.tick
		}
		if !due {
			break // queued in order of receipt
		}
		e.sendAnnounce(pa)
		n++
	}
	if n == 0 {
		return
	}
	clear(p.announce[:n])
	p.announce = p.announce[n:]
	if len(p.announce) == 0 {
		p.announce = nil
	}
}

// sendAnnounce sends pa's announcements to the targets still current
// neighbours, if the message is still stored (an IWANT must find it).
func (e *Engine) sendAnnounce(pa *pendingAnnounce) {
	delete(e.plum.announcing, pa.key)
	if en := e.store[pa.key]; en == nil || en.gone {
		return
	}
	for _, id := range pa.targets {
		if _, nbr := e.plum.lazy[id]; !nbr {
			continue // left the neighbour set meanwhile
		}
		e.sendIHave(id, pa.key)
		e.plum.stats.LazySent++
	}
}
