package core

// Catching up: how a node that fell behind (a restart, a partition) gets
// the messages it missed in an order FIFO delivery can use.

import "sort"

// selectForPull picks the stored messages a pull request is answered with.
// Without FIFO it is the round's Policy (selectForRound). With FIFO the
// requester can deliver an origin's messages only in sequence order, so the
// oldest it lacks go first (by receipt, then sequence number) and in that
// order in the frame: each answer moves its delivery cursors on instead of
// filling its hold-back with messages it must sit on, and the first message
// it ever sees of an origin is the oldest the group still holds.
func (e *Engine) selectForPull(cands []*storeEntry) []*storeEntry {
	if !e.cfg.FIFO {
		return e.selectForRound(cands)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.recvTick != b.recvTick {
			return a.recvTick < b.recvTick
		}
		return a.msg.Seq < b.msg.Seq
	})
	return e.roundBudget(cands)
}

// Behind reports whether this node holds messages back behind a FIFO gap
// (always false without FIFO): it is waiting for messages it knows exist.
func (e *Engine) Behind() bool {
	if e.heldBytes > 0 {
		return true
	}
	for _, o := range e.originList {
		if len(o.held) > 0 {
			return true
		}
	}
	return false
}

// PullNow sends a pull request (a digest to PullFanout peers) at once,
// outside the round schedule: an adapter calls it while Behind, after a
// restart, to catch up faster than one pull every PullEvery rounds.
func (e *Engine) PullNow() {
	if e.cfg.Mode == Push {
		return
	}
	e.pullRound()
	e.flush()
}

// LateReceiver is implemented by an Application that wants the messages
// FIFO delivery does not deliver because they arrived after their place in
// the order had passed (Stats.FIFOLate). None of them was delivered before.
// beforeStart says m lies below where this node's order of its origin
// started (the origin was first heard of through a newer message, after
// FIFOStart): its history, or a message overtaken for longer than
// FIFOStart. Otherwise m lies in a gap given up and reported lost. An
// adapter may hand such messages to the application as history, or late
// rather than never; they are not in order.
type LateReceiver interface {
	Late(m *Message, beforeStart bool)
}

// late hands a FIFO-late message to the application if it wants it.
func (e *Engine) late(m *Message, beforeStart bool) {
	if lr, ok := e.cfg.App.(LateReceiver); ok {
		lr.Late(m, beforeStart)
	}
}

// RestartOrigin starts origin's FIFO order anew, for an adapter that
// learns the origin restarted without its numbering (membership saw it
// rejoin after it was declared dead or had left): the messages held back
// for it are delivered (gaps reported lost) and its next message starts the
// order as a first message does (FIFOStart), instead of waiting FIFOTimeout
// behind sequence numbers its new life never used. A message of its
// previous life arriving later is late.
func (e *Engine) RestartOrigin(origin NodeID) {
	o := e.origins[origin]
	if o == nil || !e.cfg.FIFO || origin == e.cfg.ID || !o.cursorSet {
		return
	}
	e.flushHeld(o)
	o.cursorSet = false
}
