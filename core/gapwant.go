package core

// Gap wants (Config.GapWantDelay): a message that arrives above the highest
// sequence number seen of its origin reveals the numbers in between as
// missing. In a stream those are almost always bodies lost or swallowed on
// the way (a lossy link, a member that stopped reading), and under FIFO
// delivery every later message of the origin waits behind them. Rather than
// wait for an announcement of the missing ones (the next round) or the next
// pull, the node asks the member that sent the later message, which most
// likely received the missing ones on the same path, and then the origin,
// which stored them when it published. The request is an ordinary IWANT
// after GapWantDelay ticks, so a body merely overtaken on another path
// arrives first and costs nothing; an announcement that comes in meanwhile
// adds its sender to the members asked.
//
// Neither member asked promised the body, so a request of theirs that goes
// unanswered does not count against their service score (service.go); only
// announcers do.

// maxGapWants bounds the sequence numbers one message may reveal as
// missing and have wanted at once. A larger jump (a member that joined or
// fell far behind, an origin that restarted its numbering) is left to pull,
// which asks for a whole gap in one digest.
const maxGapWants = 8

// GapStats are the counters of gap wants, kept apart from Stats (whose
// field names the simulator's trace digests hash).
type GapStats struct {
	Wanted uint64 // missing sequence numbers wanted because a later message revealed them
	Filled uint64 // of those, bodies that arrived while wanted (by any path)
	Asked  uint64 // IWANTs sent for them (within Stats.IWantsSent)
}

// GapStats returns a copy of the gap-want counters.
func (e *Engine) GapStats() GapStats { return e.gapStats }

// wantGaps wants the sequence numbers between high, the highest seen of
// origin o before m, and m's, when m is the first above high, from and then
// m's origin asked in turn. It does nothing for an origin this node knew
// nothing of (high 0), for a jump of more than maxGapWants, and without
// GapWantDelay.
func (e *Engine) wantGaps(o *originState, high uint64, m *Message, from NodeID) {
	if e.cfg.GapWantDelay <= 0 || from == "" || high == 0 || m.Seq <= high+1 || m.Seq-high-1 > maxGapWants {
		return
	}
	asked := []NodeID{from}
	if m.Origin != from && m.Origin != e.cfg.ID {
		asked = append(asked, m.Origin)
	}
	for seq := high + 1; seq < m.Seq; seq++ {
		k := MsgKey{Origin: m.Origin, Seq: seq}
		if o.hasSeen(seq) || e.wants[k] != nil {
			continue
		}
		if len(e.wants) >= e.cfg.MaxPendingWants {
			e.stats.WantsDropped++
			return
		}
		w := &pendingWant{
			key:        k,
			announcers: append([]NodeID(nil), asked...),
			guessed:    1<<len(asked) - 1,
			deadline:   e.ticks + uint64(e.cfg.GapWantDelay),
			gap:        true,
		}
		if e.wants == nil {
			e.wants = make(map[MsgKey]*pendingWant)
		}
		e.wants[k] = w
		e.stateVer++
		e.wantList = append(e.wantList, w)
		e.gapStats.Wanted++
	}
}

// highestSeen is the highest sequence number of o seen so far (0 for nil).
func (o *originState) highestSeen() uint64 {
	if o == nil {
		return 0
	}
	if n := len(o.above); n > 0 {
		return o.above[n-1]
	}
	return o.contiguous
}
