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
// An adapter with a clock may ask sooner than the next tick: GapsWaiting
// says some gap wants are not yet asked, and AskGaps asks them now. p2p
// calls it a few milliseconds after a gap shows (less than a tick, more
// than a body overtaken on loopback or a LAN takes to catch up).
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
	e.sawLoss() // in a stream a gap is a body lost on the way (treeack.go)
	asked := []NodeID{from}
	if m.Origin != from && m.Origin != e.cfg.ID && e.mayAsk(m.Origin) {
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
		e.gapsWaiting = true
	}
}

// GapsWaiting reports whether gap wants were made since the last AskGaps
// and may still be unasked.
func (e *Engine) GapsWaiting() bool { return e.gapsWaiting }

// AskGaps sends the IWANT of every gap want not asked yet, without waiting
// for GapWantDelay, and sends the frames.
func (e *Engine) AskGaps() {
	e.gapsWaiting = false
	for _, w := range e.wantList {
		if w.gap && !w.done && w.next == 0 {
			e.askGap(w)
		}
	}
	e.flush()
}

// askGap sends a gap want's first IWANTs: to every member guessed at once
// (the sender and the origin), as neither promised the body and waiting
// IWantTimeout for one that lacks it would cost the tail what gap wants
// save; at most one body too many comes back.
func (e *Engine) askGap(w *pendingWant) {
	for w.next < len(w.announcers) && w.guessed&(1<<w.next) != 0 {
		e.askNext(w)
	}
	if w.next == 0 {
		e.askNext(w)
	}
}

// mayAsk reports whether a request may go to id without a link of its own:
// under Plumtree only a current neighbour (a request to another member
// would open a connection outside the overlay's budget).
func (e *Engine) mayAsk(id NodeID) bool {
	l, ok := e.plumLister()
	if !ok {
		return true
	}
	e.plumRefresh(l)
	_, nbr := e.plum.lazy[id]
	return nbr
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
