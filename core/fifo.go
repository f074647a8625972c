package core

// FIFO delivery (Config.FIFO): each origin's messages reach the application
// in sequence order; out-of-order ones are held back until the gap fills,
// FIFOTimeout passes or MaxHeld is reached, and a gap given up is reported
// to a LossReporter.

import (
	"slices"
	"sort"
)

// deliverInOrder delivers a new message of origin o: at once without FIFO,
// else in sequence order, holding it back behind a gap.
func (e *Engine) deliverInOrder(o *originState, m *Message) {
	if !e.cfg.FIFO {
		e.deliverToApp(m)
		return
	}
	if !o.cursorSet {
		if m.First {
			// Nothing of this numbering precedes m: no reason to wait.
			e.stats.FIFOStartedFirst++
			e.startOrder(o, m.Seq)
		} else if e.cfg.FIFOStart > 0 && len(o.held) < e.cfg.MaxHeld {
			e.holdFirst(o, m)
			return
		} else {
			e.startOrder(o, m.Seq)
		}
	}
	switch {
	case m.Seq <= o.cursor:
		e.stats.FIFOLate++
		e.late(m, m.Seq < o.startSeq)
	case m.Seq == o.cursor+1:
		e.deliverToApp(m)
		o.cursor = m.Seq
		e.drainHeld(o)
	default:
		i := sort.Search(len(o.held), func(i int) bool { return o.held[i].Seq >= m.Seq })
		if len(o.held) == 0 {
			o.heldSince = e.ticks
		}
		o.held = slices.Insert(o.held, i, m)
		e.heldBytes += len(m.Payload)
		if len(o.held) > e.cfg.MaxHeld {
			e.stats.HeldOverflow++
			e.skipGap(o)
		}
		for e.heldBytes > e.cfg.MaxHeldBytes && len(o.held) > 0 {
			e.stats.HeldBytesOverflow++
			e.skipGap(o)
		}
	}
}

// deliverToApp hands m to the application.
func (e *Engine) deliverToApp(m *Message) {
	e.stats.Delivered++
	if e.cfg.App != nil {
		e.cfg.App.Deliver(m)
	}
}

// drainHeld delivers the held messages that follow the cursor without a gap.
func (e *Engine) drainHeld(o *originState) {
	n := 0
	for n < len(o.held) && o.held[n].Seq == o.cursor+1 {
		e.deliverToApp(o.held[n])
		e.heldBytes -= len(o.held[n].Payload)
		o.cursor++
		n++
	}
	if n > 0 {
		clear(o.held[:n])
		o.held = o.held[n:]
		o.heldSince = e.ticks
	}
	if len(o.held) == 0 {
		o.held = nil
	}
}

// skipGap gives up the sequence numbers between the FIFO cursor and the
// first held message, and delivers what then becomes consecutive.
func (e *Engine) skipGap(o *originState) {
	if len(o.held) == 0 {
		return
	}
	from, to := o.cursor+1, o.held[0].Seq-1
	e.stats.FIFOLost += to - from + 1
	if lr, ok := e.cfg.App.(LossReporter); ok {
		lr.Lost(o.id, from, to)
	}
	o.cursor = to
	e.drainHeld(o)
}

// holdFirst holds a message of an origin whose order has not started
// (FIFOStart): startOrder runs when FIFOStart ticks have passed.
func (e *Engine) holdFirst(o *originState, m *Message) {
	i := sort.Search(len(o.held), func(i int) bool { return o.held[i].Seq >= m.Seq })
	if len(o.held) == 0 {
		o.heldSince = e.ticks
	}
	o.held = slices.Insert(o.held, i, m)
	e.heldBytes += len(m.Payload)
}

// startOrder starts o's delivery order just below seq (or below the lowest
// message held by holdFirst) and delivers what follows without a gap.
func (e *Engine) startOrder(o *originState, seq uint64) {
	if len(o.held) > 0 {
		seq = min(seq, o.held[0].Seq)
	}
	o.cursor, o.cursorSet, o.startSeq = seq-1, true, seq
	e.drainHeld(o)
}

// flushHeld empties o's hold-back when o is evicted: every gap is reported
// lost and every held message delivered, none dropped silently.
func (e *Engine) flushHeld(o *originState) {
	if !o.cursorSet && len(o.held) > 0 {
		e.startOrder(o, o.held[0].Seq)
	}
	for len(o.held) > 0 {
		e.stats.HeldFlushed += uint64(len(o.held))
		n := len(o.held)
		e.skipGap(o)
		e.stats.HeldFlushed -= uint64(len(o.held))
		if len(o.held) == n {
			break
		}
	}
}
