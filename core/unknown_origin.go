package core

// Messages of origins the Validator does not know yet (OriginGate).
//
// An adapter that knows the group's membership (package p2p) refuses to
// take in a message whose origin is not a member it knows: the origin flood
// of issue 12 (10,000 invented origins, one valid message each) then never
// reaches the seen-state, the store or the application, and honest members
// never relay it, since each applies the same rule before forwarding. But
// membership views diverge for a moment: a member that joined a second ago
// is known to some members before others, and its first messages travel as
// fast as its alive update. So instead of dropping such a message, the
// engine holds it (bounded) and asks the gate again every tick; once the
// origin is known it is taken in as if it had just arrived (arc included,
// so the tree below this node is served), and a message whose origin is
// still unknown after Config.HoldUnknownTicks is dropped and its sender
// reported with OffenceUnknownOrigin. Whether that is an offence the
// adapter decides (p2p counts it only when it has heard the sender's own
// membership view since, and the origin was not in it). The gate is asked
// after the Validator accepted the message, so a forged message is still
// rejected (and its sender penalised) at once, and a held one is never
// verified twice.

// OriginGate may be implemented by a Config.Validator whose adapter knows
// which origins may publish: a message the Validator accepted whose origin
// OriginKnown denies is held and the question asked again every tick
// (unknown_origin.go). Called from inside Step and Tick; it must not call
// back into the engine.
type OriginGate interface {
	OriginKnown(from NodeID, m *Message) bool
}

// HoldStats are the counters of messages held for an unknown origin, kept
// apart from Stats so that runs that never hold one print what they did
// before (the simulator's trace digests hash Stats).
type HoldStats struct {
	Held     uint64 // messages held because the OriginGate did not know their origin
	Released uint64 // held messages taken in once their origin was known
	Expired  uint64 // held messages dropped after HoldUnknownTicks (OffenceUnknownOrigin of their sender)
	Dropped  uint64 // messages of unknown origins not held: MaxHeldUnknown or MaxHeldUnknownBytes reached, or held already
}

// HoldStats returns the counters of held messages of unknown origins.
func (e *Engine) HoldStats() HoldStats { return e.unknown.stats }

// heldUnknown is one message held for its origin.
type heldUnknown struct {
	from   NodeID
	m      *Message
	tree   bool
	end    uint64
	expire uint64 // tick
	size   int
}

// senderOrigin names a sender and the origin of a message it sent.
type senderOrigin struct{ from, origin NodeID }

// unknownHold is the engine's buffer of messages of unknown origins.
type unknownHold struct {
	msgs    []heldUnknown // in arrival order
	keys    map[MsgKey]struct{}
	bytes   int
	count   map[NodeID]int // held messages per sender
	bytesOf map[NodeID]int
	stats   HoldStats
	// reported: when a sender was last reported for an origin; a pair is
	// reported at most once in 2·HoldUnknownTicks, so that a member
	// relaying a burst of one short-lived origin's messages costs it one
	// offence, while an origin flood (a new origin each message) costs one
	// per message
	reported map[senderOrigin]uint64
	peersVer uint64 // the PeerLister's version when the held messages were last asked about
}

// senderFull reports whether from's share of the hold (a quarter of
// MaxHeldUnknown and of MaxHeldUnknownBytes) is taken: its further messages
// of origins new to this node would be dropped if their origin turned out
// unknown, so they are dropped before the Validator spends a signature
// check on them (an origin flood's messages beyond the share cost a map
// lookup each; a genuine one is repaired by pull once the share frees).
func (h *unknownHold) senderFull(from NodeID, cfg Config) bool {
	n := h.count[from]
	return n > 0 && (n >= max(1, cfg.MaxHeldUnknown/4) || h.bytesOf[from] >= cfg.MaxHeldUnknownBytes/4)
}

// holdUnknown holds m, which the Validator accepted but whose origin the
// OriginGate does not know yet. Each sender may fill a quarter of the buffer.
func (e *Engine) holdUnknown(from NodeID, m *Message, tree bool, end uint64) {
	h := &e.unknown
	key := m.Key()
	size := encodedMessageSize(m)
	maxN, maxB := e.cfg.MaxHeldUnknown, e.cfg.MaxHeldUnknownBytes
	if _, dup := h.keys[key]; dup || e.cfg.HoldUnknownTicks <= 0 ||
		len(h.msgs) >= maxN || h.bytes+size > maxB ||
		h.count[from] >= max(1, maxN/4) || h.bytesOf[from]+size > maxB/4 {
		h.stats.Dropped++
		return
	}
	if h.keys == nil {
		h.keys = make(map[MsgKey]struct{})
		h.count = make(map[NodeID]int)
		h.bytesOf = make(map[NodeID]int)
	}
	h.keys[key] = struct{}{}
	h.count[from]++
	h.bytesOf[from] += size
	h.bytes += size
	h.msgs = append(h.msgs, heldUnknown{from: from, m: m.Clone(), tree: tree, end: end,
		expire: e.ticks + uint64(e.cfg.HoldUnknownTicks), size: size})
	h.stats.Held++
}

// retryUnknown asks the OriginGate again about every held message (once a
// tick): a message whose origin is now known is taken in, one whose hold
// expired is dropped and its sender reported (once per sender and origin
// in 2·HoldUnknownTicks).
func (e *Engine) retryUnknown() {
	h := &e.unknown
	if window := 2 * uint64(e.cfg.HoldUnknownTicks); len(h.reported) > 0 && e.ticks%window == 0 {
		for k, at := range h.reported {
			if at+window <= e.ticks {
				delete(h.reported, k)
			}
		}
	}
	if len(h.msgs) == 0 {
		return
	}
	if l, ok := e.cfg.Sampler.(PeerLister); ok {
		h.peersVer = l.PeersVersion()
	}
	keep := h.msgs[:0]
	for _, x := range h.msgs {
		if e.heldOutcome(x) {
			keep = append(keep, x)
			continue
		}
		delete(h.keys, x.m.Key())
		h.bytes -= x.size
		if h.count[x.from]--; h.count[x.from] <= 0 {
			delete(h.count, x.from)
			delete(h.bytesOf, x.from)
		} else {
			h.bytesOf[x.from] -= x.size
		}
	}
	clear(h.msgs[len(keep):])
	h.msgs = keep
}

// retryUnknownOnJoin asks about the held messages again at once, outside
// the tick, when the peer list changed since they were last asked about (a
// member joined: most likely the origin a message waits for, whose alive
// update came in a frame of its own), so that its message is not kept
// waiting for the next tick.
func (e *Engine) retryUnknownOnJoin() {
	if len(e.unknown.msgs) == 0 {
		return
	}
	l, ok := e.cfg.Sampler.(PeerLister)
	if !ok {
		return
	}
	if v := l.PeersVersion(); v != e.unknown.peersVer {
		e.unknown.peersVer = v
		e.retryUnknown()
	}
}

// heldOutcome decides about one held message; true keeps holding it.
func (e *Engine) heldOutcome(x heldUnknown) bool {
	h := &e.unknown
	m := x.m
	if o := e.origins[m.Origin]; o != nil && o.hasSeen(m.Seq) {
		e.stats.Duplicates++
		return false
	}
	if ts, ok := e.tombs[m.Origin]; ok && m.Seq <= ts.contiguous {
		e.stats.Duplicates++
		return false
	}
	if !e.cfg.Validator.(OriginGate).OriginKnown(x.from, m) {
		if e.ticks < x.expire {
			return true
		}
		h.stats.Expired++
		pair := senderOrigin{x.from, m.Origin}
		if at, done := h.reported[pair]; !done || at+2*uint64(e.cfg.HoldUnknownTicks) <= e.ticks {
			if h.reported == nil {
				h.reported = make(map[senderOrigin]uint64)
			}
			h.reported[pair] = e.ticks
			e.penalize(x.from, OffenceUnknownOrigin)
		}
		return false
	}
	if e.origins[m.Origin] == nil && !e.originRoom(m.Origin) {
		e.stats.OriginsRefused++
		e.penalize(x.from, OffenceFlood)
		return false
	}
	h.stats.Released++
	e.accept(m, x.from, x.tree, x.end)
	return false
}
