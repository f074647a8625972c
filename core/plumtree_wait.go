package core

// Plumtree's adaptive wait (Config.PlumAdaptWait). Plumtree's timer
// (IWantDelay, IWantDelayCalls) and gap wants (GapWantDelay) bet that a body
// not here a few one-way trips after an announcement or a later message of
// its origin was lost. On a host that runs behind (on one machine, a
// thousand peers sharing two cores) every hop takes tens to hundreds of
// milliseconds, the eager copy is late rather than lost, and the bet loses:
// the IWANT brings a second copy, grafts a link that the late copy then
// prunes, and turns on the per-round announcements (PlumRoundsAfterLoss),
// so the busy host gets busier still. The N = 1,000 windows that tipped
// over had 1.3-1.5 IWANT answers per delivery, and about three duplicates:
// the answers came first and the eager copies after them
// (docs/benchmarks/ladder.md, sessions 34 and 37).
//
// So a node keeps the last plumAskRing bodies it asked for and got, each
// with the members it asked. A copy of one of them that arrives from a
// member it did not ask (an eager push, or the eager copy overtaking the
// answer) within one more wait of the ask shows that the eager path was
// alive and a wait twice as long would have let it come: the ask was
// premature, and a body was sent for nothing (copyUnasked). Over every
// plumWaitWindow asks, the wait doubles (at most maxPlumWaitShift times)
// when more than half were premature and halves when a quarter or fewer
// were; it also halves after plumWaitDecayTicks without a doubling, since a
// long wait makes asks, and so evidence, rare. Loss does not lengthen the
// wait: a body lost on the way brings no later copy. Asks are rare at each
// member (at N = 1,000 about one for four deliveries, some 16 a minute),
// which is why a decision weighs two asks and a raised wait lasts 300 ticks
// (30 s at p2p's 100 ms) without another doubling. A host whose asks prove
// premature is one whose neighbours run behind, and answers come from the
// same neighbours: while the wait is raised there are no fast retries at
// all (fastRetries), and an ask no longer counts as a loss that turns on
// the per-round announcements.
//
// The same host makes answers late too. An asked body not here within
// ackRTO calls is asked again of the next announcer (FastWantRetries), and
// with Plumtree no tree body is acknowledged, so ackRTO had no round trip
// to learn from and stayed at two calls: an N = 1,000 window asked again
// 16,603 times for 8,596 first asks. With Config.WantRTT (apart from the
// adaptive wait, and on in p2p's overlay profile) the answer to a body's
// first ask samples the round trip (sampleWantRTT), and a retry counts
// towards the timeout's backoff as an unacknowledged tree body's resend
// does.
//
// What the adaptive wait costs: on the simulator (stackexp -n 1000 -seed 1
// -auth, links of 2-20 ms, no load) asks prove premature too, from the
// tree's shape, and the raised wait keeps slower eager paths: p99 139 ->
// 168 ms, max 325 -> 613 ms, bytes per delivery -8 %. At N = 1,000 on real
// hosts a healthy window had a third fewer IWANTs and 8 % fewer bytes with
// it, and the same p99. That is why p2p leaves it off.
//
// A signal that was tried first in session 34 (an ask counted premature
// only when the eager copy came before the answer) never fired in those
// windows: under load the answers came first.

// plumAskRing is how many answered asks are remembered; plumWaitWindow
// how many asks each decision weighs; maxPlumWaitShift the most doublings
// (8 times the configured wait); plumWaitDecayTicks how long a raised wait
// lasts without another doubling before it halves.
const (
	plumAskRing        = 32
	plumWaitWindow     = 2
	maxPlumWaitShift   = 3
	plumWaitDecayTicks = 300
)

// plumAsk is a body this node asked for and received.
type plumAsk struct {
	key       MsgKey
	asked     []NodeID // the members asked (the want's announcers, in order)
	n         int      // how many of them were asked
	gen, tick uint64   // Engine.ackGen and ticks at the first ask
	premature bool     // a copy came from a member not asked, within one more wait
}

// plumWait is the adaptive wait's state.
type plumWait struct {
	ring      [plumAskRing]plumAsk
	next      int // ring slot to fill next
	asks      int // asks received in the current window
	premature int // premature asks found in the current window
	shift     uint8
	raisedAt  uint64 // tick of the last change of shift
}

// PlumWaitStats are the adaptive wait's counters.
type PlumWaitStats struct {
	Asks       uint64 // bodies asked for (announced or gap) that arrived
	Premature  uint64 // of those, a copy also came from a member not asked, within one more wait
	LateCopies uint64 // copies from a member not asked that came later than that (the ask saved time)
	Raised     uint64 // times the wait doubled
	Lowered    uint64 // times it halved
	Shift      uint8  // the wait is the configured one times 2^Shift now
}

// PlumWaitStats returns the adaptive wait's counters.
func (e *Engine) PlumWaitStats() PlumWaitStats {
	s := e.plumWaitStats
	s.Shift = e.plumWait.shift
	return s
}

// iwantDelayCalls is the ResendUnanswered calls before an announced body is
// asked for.
func (e *Engine) iwantDelayCalls() uint64 {
	return uint64(e.cfg.IWantDelayCalls) << e.plumWait.shift
}

// iwantDelayTicks is the ticks before an announced body is asked for.
func (e *Engine) iwantDelayTicks() uint64 {
	return uint64(e.cfg.IWantDelay) << e.plumWait.shift
}

// gapWantTicks is the ticks before a gap want is asked for.
func (e *Engine) gapWantTicks() uint64 {
	return uint64(e.cfg.GapWantDelay) << e.plumWait.shift
}

// waitRaised reports whether asks wait longer than configured now (gap
// wants then wait for their tick instead of the adapter's AskGaps).
func (e *Engine) waitRaised() bool { return e.plumWait.shift > 0 }

// noteAsked records that w's body arrived from from, after w was asked for.
func (e *Engine) noteAsked(w *pendingWant, from NodeID) {
	if !e.cfg.PlumAdaptWait || w.next == 0 {
		return
	}
	pw := &e.plumWait
	if pw.asks >= plumWaitWindow {
		// The window closes at the next ask's answer, so that the late
		// copies of its last ask had time to come.
		e.adaptWait()
	}
	a := &pw.ring[pw.next]
	pw.next = (pw.next + 1) % plumAskRing
	*a = plumAsk{key: w.key, asked: w.announcers, n: min(w.next, len(w.announcers)), gen: w.gen0, tick: w.tick0}
	e.plumWaitStats.Asks++
	pw.asks++
	if !a.wasAsked(from) {
		// The body came first from a member not asked.
		e.copyUnasked(a)
	}
}

// sampleWantRTT takes the calls between w's first ask and its body's
// arrival as a round trip when the body came from the member asked first
// and that member was asked once (Karn's rule: a body asked twice of one
// member may answer either ask).
func (e *Engine) sampleWantRTT(w *pendingWant, from NodeID) {
	if !e.cfg.WantRTT || w.next == 0 || w.next > len(w.announcers) || w.announcers[0] != from {
		return
	}
	e.sampleAckRTT(e.ackGen - w.gen0)
}

// fastRetries is how many times an asked body is asked again between
// ticks: FastWantRetries, none while the wait is raised (the asks of this
// node then mostly prove premature, and so would their retries; the next
// announcer is asked after IWantTimeout ticks instead).
func (e *Engine) fastRetries() int {
	if e.waitRaised() {
		return 0
	}
	return e.cfg.FastWantRetries
}

// notePremature looks up a duplicate of k from from among the answered
// asks.
func (e *Engine) notePremature(k MsgKey, from NodeID) {
	if !e.cfg.PlumAdaptWait || e.plumWaitStats.Asks == 0 {
		return
	}
	for i := range e.plumWait.ring {
		a := &e.plumWait.ring[i]
		if a.key.Seq == k.Seq && a.key.Origin == k.Origin && a.asked != nil {
			if !a.premature && !a.wasAsked(from) {
				e.copyUnasked(a)
			}
			return
		}
	}
}

// copyUnasked weighs a copy of an asked body that came from a member not
// asked. Within one more wait of the ask (in calls and in ticks), a wait
// twice as long would have let it come unasked: the ask was premature.
// Later, the ask brought the body sooner than the eager path, and its
// graft moved the tree to the faster link: that is what the ask is for,
// and the wait stays (PlumWaitStats.LateCopies). On the simulator, whose links
// take 2-20 ms, counting every such copy doubled waits that the tree's
// shape, not load, made look short: p99 139 -> 214 ms at n = 1,000.
func (e *Engine) copyUnasked(a *plumAsk) {
	if e.ackGen-a.gen > e.iwantDelayCalls() || e.ticks-a.tick > max(e.iwantDelayTicks(), 1) {
		a.asked = nil // weighed: further copies are not looked up
		e.plumWaitStats.LateCopies++
		return
	}
	a.premature = true
	e.plumWait.premature++
	e.plumWaitStats.Premature++
}

// wasAsked reports whether from was one of the members asked.
func (a *plumAsk) wasAsked(from NodeID) bool {
	for i := 0; i < a.n; i++ {
		if a.asked[i] == from {
			return true
		}
	}
	return false
}

// adaptWait weighs the current window of asks.
func (e *Engine) adaptWait() {
	pw := &e.plumWait
	switch {
	case 2*pw.premature > pw.asks && pw.shift < maxPlumWaitShift:
		pw.shift++
		pw.raisedAt = e.ticks
		e.plumWaitStats.Raised++
	case 4*pw.premature <= pw.asks && pw.shift > 0:
		pw.shift--
		pw.raisedAt = e.ticks
		e.plumWaitStats.Lowered++
	}
	pw.asks, pw.premature = 0, 0
}

// decayWait halves a raised wait that has not changed for
// plumWaitDecayTicks (on Tick).
func (e *Engine) decayWait() {
	pw := &e.plumWait
	if pw.shift > 0 && e.ticks-pw.raisedAt >= plumWaitDecayTicks {
		pw.shift--
		pw.raisedAt = e.ticks
		e.plumWaitStats.Lowered++
	}
}
