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
	if len(e.originList) >= e.cfg.MaxOrigins {
		e.evictOrigins()
	}
	if e.origins == nil {
		e.origins = make(map[NodeID]*originState)
	}
	o := &originState{id: id, idx: len(e.originList), lastActive: e.ticks}
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
	n := max(1, len(byAge)/8)
	for _, o := range byAge {
		if n == 0 {
			break
		}
		if o.id == e.cfg.ID {
			continue
		}
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
	for i := 0; i < len(e.originList); i++ {
		o := e.originList[i]
		if len(o.above) > 0 && e.ticks-o.gapSince >= uint64(e.cfg.GapTimeout) {
			o.abandonGap(e)
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
