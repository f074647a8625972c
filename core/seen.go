package core

// Seen-state: per origin, the sequence numbers seen (a contiguous
// watermark and the few above it), bounded by MaxOrigins, SeenTTL, MaxAbove
// and GapTimeout. It also carries the origin's FIFO cursor (fifo.go).

import (
	"slices"
	"sort"
)

// originState is what this node knows of one origin.
type originState struct {
	id         NodeID
	idx        int // in Engine.originList
	contiguous uint64
	above      []uint64 // sorted, each > contiguous
	gapSince   uint64
	lastActive uint64

	// FIFO delivery
	cursor     uint64 // last delivered (or skipped) sequence number
	cursorSet  bool
	startSeq   uint64     // where this node's order of the origin started (startOrder); 0 if restored
	held       []*Message // sorted by Seq, each > cursor
	heldSince  uint64
	storedMsgs int // messages of this origin in the store
}

// trackOrigin returns the seen-state of id, creating it (and evicting the
// least recently active origins if MaxOrigins is reached).
func (e *Engine) trackOrigin(id NodeID) *originState {
	if o := e.origins[id]; o != nil {
		return o
	}
	ts, hadTomb := e.tombs[id]
	delete(e.tombs, id)
	if len(e.originList) >= e.cfg.MaxOrigins {
		e.evictOrigins()
	}
	if e.origins == nil {
		e.origins = make(map[NodeID]*originState)
	}
	o := &originState{id: id, idx: len(e.originList), lastActive: e.ticks}
	if hadTomb {
		// Recreated after eviction: resume at its watermark, so nothing
		// seen before the eviction is admitted again.
		o.contiguous = ts.contiguous
		o.cursor, o.cursorSet = ts.contiguous, true
	}
	e.origins[id] = o
	e.stateVer++
	e.originList = append(e.originList, o)
	return o
}

// evictOrigins drops the least recently active eighth of the origins (at
// least one), never this node's own.
func (e *Engine) evictOrigins() {
	byAge := slices.Clone(e.originList)
	sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].lastActive < byAge[j].lastActive })
	// An eighth at a time, but never more than the tombstones have room
	// for (at least one).
	n := max(1, min(len(byAge)/8, 8*e.cfg.MaxOrigins-len(e.tombs)))
	for _, o := range byAge {
		if n == 0 {
			break
		}
		if o.id == e.cfg.ID {
			continue
		}
		e.tombstone(o)
		e.removeOrigin(o)
		e.stats.OriginsEvicted++
		n--
	}
}

// removeOrigin forgets o (evicted or expired).
func (e *Engine) removeOrigin(o *originState) {
	e.flushHeld(o)
	e.stateVer++
	delete(e.origins, o.id)
	last := e.originList[len(e.originList)-1]
	e.originList[o.idx] = last
	last.idx = o.idx
	e.originList[len(e.originList)-1] = nil
	e.originList = e.originList[:len(e.originList)-1]
	if len(e.originList) == 0 {
		e.originList, e.origins = nil, nil
	}
}

// originHousekeeping runs once per round: it gives up gaps older than
// GapTimeout, skips FIFO gaps older than FIFOTimeout and forgets origins
// idle for SeenTTL with nothing stored or held.
func (e *Engine) originHousekeeping() {
	e.expireTombs()
	for i := 0; i < len(e.originList); i++ {
		o := e.originList[i]
		if len(o.above) > 0 && e.ticks-o.gapSince >= uint64(e.cfg.GapTimeout) {
			o.abandonGap(e)
		}
		if e.cfg.FIFO && !o.cursorSet && len(o.held) > 0 && e.ticks-o.heldSince >= uint64(e.cfg.FIFOStart) {
			e.startOrder(o, o.held[0].Seq)
		}
		if e.cfg.FIFO && len(o.held) > 0 && e.ticks-o.heldSince >= uint64(e.cfg.FIFOTimeout) {
			e.skipGap(o)
		}
		if o.id != e.cfg.ID && o.storedMsgs == 0 && len(o.held) == 0 &&
			e.ticks-o.lastActive >= uint64(e.cfg.SeenTTL) {
			e.removeOrigin(o)
			e.stats.OriginsExpired++
			i-- // the last origin moved into slot i
		}
	}
}

// hasSeen reports whether seq was seen.
func (o *originState) hasSeen(seq uint64) bool {
	if seq <= o.contiguous {
		return true
	}
	_, found := slices.BinarySearch(o.above, seq)
	return found
}

// markSeen records seq as seen.
func (o *originState) markSeen(e *Engine, seq uint64) {
	if seq <= o.contiguous {
		return
	}
	e.stateVer++
	if seq == o.contiguous+1 {
		o.contiguous = seq
	} else {
		i, found := slices.BinarySearch(o.above, seq)
		if found {
			return
		}
		if len(o.above) == 0 {
			o.gapSince = e.ticks
		}
		o.above = slices.Insert(o.above, i, seq)
		if len(o.above) > e.cfg.MaxAbove {
			e.stats.AboveOverflow++
			o.abandonGap(e)
		}
	}
	o.absorb()
}

// absorb moves sequence numbers that became contiguous out of above.
func (o *originState) absorb() {
	n := 0
	for n < len(o.above) && o.above[n] == o.contiguous+1 {
		o.contiguous++
		n++
	}
	if n > 0 {
		o.above = o.above[n:]
	}
	if len(o.above) == 0 {
		o.above = nil
	}
}

// abandonGap gives up the first run of missing sequence numbers.
func (o *originState) abandonGap(e *Engine) {
	if len(o.above) == 0 {
		return
	}
	e.stateVer++
	e.stats.GapsAbandoned++
	o.contiguous = o.above[0] - 1
	o.absorb()
	o.gapSince = e.ticks
}

// tomb is what an evicted origin leaves behind: its contiguous watermark
// (everything above it it had seen is given up as seen too, so the
// watermark is raised to the highest sequence number seen).
type tomb struct {
	contiguous uint64
	since      uint64
}

// tombstone keeps a watermark for o, evicted under MaxOrigins pressure, so
// that its old messages still circulating are never delivered again. The
// tombstones are bounded by 8·MaxOrigins (the oldest is dropped first,
// Stats.TombstonesDropped) and expire after SeenTTL, when the adapter's
// replay window rejects the old messages anyway.
func (e *Engine) tombstone(o *originState) {
	if e.tombs == nil {
		e.tombs = make(map[NodeID]tomb)
	}
	w := o.contiguous
	if n := len(o.above); n > 0 {
		w = o.above[n-1]
	}
	e.tombs[o.id] = tomb{contiguous: w, since: e.ticks}
	e.tombOrder = append(e.tombOrder, o.id)
	for len(e.tombs) > 8*e.cfg.MaxOrigins && len(e.tombOrder) > 0 {
		id := e.tombOrder[0]
		e.tombOrder = e.tombOrder[1:]
		if _, ok := e.tombs[id]; ok {
			delete(e.tombs, id)
			e.stats.TombstonesDropped++
		}
	}
}

// expireTombs forgets the tombstones older than SeenTTL.
func (e *Engine) expireTombs() {
	for len(e.tombOrder) > 0 {
		id := e.tombOrder[0]
		ts, ok := e.tombs[id]
		if ok && e.ticks-ts.since < uint64(e.cfg.SeenTTL) {
			break
		}
		if ok {
			delete(e.tombs, id)
		}
		e.tombOrder = e.tombOrder[1:]
	}
	if len(e.tombOrder) == 0 {
		e.tombOrder = nil
	}
}

// originRoom reports whether a new origin can be tracked without forgetting
// a tombstone younger than SeenTTL: there is a free origin slot, or the
// tombstones an eviction adds (an eighth of MaxOrigins) still fit
// 8·MaxOrigins after expiry.
func (e *Engine) originRoom(id NodeID) bool {
	if _, ok := e.tombs[id]; ok || len(e.originList) < e.cfg.MaxOrigins {
		// A returning origin trades its own tombstone for the one its
		// eviction victim leaves (evictOrigins evicts one when full).
		return true
	}
	e.expireTombs()
	return len(e.tombs)+max(1, e.cfg.MaxOrigins/8) <= 8*e.cfg.MaxOrigins
}
