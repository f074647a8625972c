package overlay

// This file answers NextDue: how many quiet ticks an owner may sleep
// through. It reads the state Tick reads and draws nothing.
//
// What counts as acting is output: a frame handed to Config.Transport, or
// a call of a hook with an effect (OnUp, OnDown, RandomPeer, which draws a
// member from another layer, and Accept, which runs only after
// RandomPeer within a tick). SizeEstimate is a pure read and is not called
// here at all (see fillDue). Housekeeping that a quiet tick still does (the
// clock, the per-tick budgets joinsThisTick, evictionsThisTick and
// peer.walks, Stats, the RNG draws of the next shuffle and random link
// times when those find nothing to do, request timeouts) changes no output
// by itself; where it enables a later output (a timed-out request makes
// room for fill) the component that acts accounts for it.
//
// Each component below returns the earliest tick (a value of o.now after
// Tick's increment) at which it may act if no input arrives, or
// o.now+nextDueNever. Being early is always allowed; being late is not.
// The argument that the minimum is never late: in quiet ticks the active
// view only shrinks through a keepalive failure (itself counted as due),
// the pending list and the passive view only shrink (request timeouts),
// and nothing else Tick reads (heard, pinged, lastJoin, joinDone,
// nextShuffle, nextRandomLink, nextFill, nextHigh, lagAt) changes before
// some component's due tick. Until the earliest due tick each component's
// answer thus holds for the state as it will be.

// nextDueNever is NextDue's answer when nothing is scheduled; the caller
// caps it.
const nextDueNever = 1 << 20

// NextDue reports how many ticks may pass before the overlay next acts
// on its own: d >= 1 means that if no input arrives (no StepFrame or other
// method call that changes state), the next d-1 calls of Tick send no
// frame and call no configured hook; the d-th may. 1 means the next Tick
// may act. The answer may be early (smaller than the truth), never late.
//
// It changes nothing, draws no random number, calls no hook and allocates
// nothing; it costs a scan of the active view and the requests in flight.
func (o *Overlay) NextDue() int {
	due := o.now + nextDueNever
	due = min(due, o.keepaliveDue(), o.joinDue(), o.shuffleDue(), o.randomLinkDue(), o.fillDue())
	return int(min(max(due-o.now, 1), nextDueNever))
}

// failuresFrom is the first tick at which holdFailures lets a failure
// verdict (a keepalive failure, a request timeout) through: a lag reported
// earlier holds them for FailTicks/2 after it (lag.go). Holding only
// defers a verdict, and keeps the neighbour or the request meanwhile,
// which delays fill rather than bringing anything forward, so the bound is
// not needed for safety; it keeps a lagging node with a silent neighbour
// from being woken every tick while its verdict waits.
func (o *Overlay) failuresFrom() int64 {
	if !o.lagSeen {
		return 0
	}
	return o.lagAt + int64(o.cfg.FailTicks/2) + 1
}

// keepaliveDue: per active neighbour, the tick of its ping (silent for
// KeepaliveTicks, or twice that for the end with the larger ID, and not
// pinged within KeepaliveTicks/2) and of its failure (silent for
// FailTicks). A failure sends nothing but calls OnDown, and even without
// OnDown it shrinks the active view (and resets the fill backoff), which
// lets fill and JOIN act: it is always counted as due. A neighbour that
// is neither silent long enough nor failed is left alone by keepalive
// (walks = 0 is housekeeping).
func (o *Overlay) keepaliveDue() int64 {
	ka, fail := int64(o.cfg.KeepaliveTicks), int64(o.cfg.FailTicks)
	from := o.failuresFrom()
	due := o.now + nextDueNever
	for i := range o.active {
		p := &o.active[i]
		after := ka
		if p.second {
			after = 2 * ka
		}
		ping := max(p.heard+after, p.pinged+ka/2)
		due = min(due, ping, max(p.heard+fail, from))
	}
	return due
}

// joinDue: Tick sends JOIN again once JoinRetryTicks have passed since the
// last, while the conditions of joinRetryDue hold. Those change in quiet
// ticks only when the active view empties, through a failure that
// keepaliveDue already counts.
func (o *Overlay) joinDue() int64 {
	if len(o.contacts) == 0 {
		return o.now + nextDueNever
	}
	if len(o.active) > 0 && (o.joinDone || o.joinTries >= maxJoinTriesLinked) {
		return o.now + nextDueNever
	}
	return o.lastJoin + int64(o.cfg.JoinRetryTicks)
}

// shuffleDue: the next SHUFFLE is stored (nextShuffle; the period after it
// is drawn when it is sent). With no neighbour startShuffle sends nothing
// (the redraw is housekeeping), and in quiet ticks the active view cannot
// grow. fill's shuffleSoon, which brings it forward, runs only in a tick
// fillDue counts, and moves it no earlier than the tick after.
func (o *Overlay) shuffleDue() int64 {
	if len(o.active) == 0 {
		return o.now + nextDueNever
	}
	return o.nextShuffle
}

// randomLinkDue: at nextRandomLink a node with at least ActiveMin
// neighbours calls RandomPeer (a hook drawing from another layer) and may
// send a NEIGHBOR request. Below ActiveMin the tick only redraws the time
// (housekeeping), and the active view cannot grow without input. The check
// that the requests in flight are below MaxPending is ignored (early).
func (o *Overlay) randomLinkDue() int64 {
	if o.cfg.RandomLinkTicks <= 0 || o.cfg.RandomPeer == nil || len(o.active) < o.cfg.ActiveMin {
		return o.now + nextDueNever
	}
	return o.nextRandomLink
}

// fillDue: fill sends NEIGHBOR requests while the active view and the
// requests in flight are below the target, or, with no candidate, calls
// RandomPeer or brings the shuffle forward (shuffleSoon, a state change
// that makes a later tick act). So whenever its conditions let it in, fill
// is counted as acting, unless it has no candidate (below).
//
// The target is bounded by ActiveMax−ActiveSlack rather than read:
// Config.SizeEstimate belongs to another layer, whose answer may grow with
// no input to the overlay, and Target never exceeds that bound. (In a group
// of a few members or more it is the target anyway.)
//
// Requests in flight leave fill nothing to do while they fill the gap (or
// LowPriorityPending at or above ActiveMin); a timeout, which sends nothing
// by itself, makes room: the earliest timeout is counted (early if more
// than one must go). Gates: below ActiveMin fill waits for nextHigh; at or
// above it for nextFill (the backoff), and, when the request would be
// urgent, for nextHigh too, which is ignored here (early).
//
// With no candidate in the passive view fill acts only through
// memberCandidate's RandomPeer, which waits JoinRetryTicks after the last
// JOIN (a joiner waiting for its JOIN's answer is not woken every tick),
// or, without RandomPeer, through shuffleSoon, whose SHUFFLE comes a tick
// later at the earliest (none with no neighbour).
func (o *Overlay) fillDue() int64 {
	never := o.now + nextDueNever
	a, p := len(o.active), len(o.pending)
	short := o.cfg.ActiveMax - o.cfg.ActiveSlack - a // Target() ≤ ActiveMax−ActiveSlack
	if short <= 0 {
		return never
	}
	var due int64
	room := short // requests fill may have in flight
	if a < o.cfg.ActiveMin {
		due = o.nextHigh
	} else {
		due = o.nextFill
		room = min(room, o.cfg.LowPriorityPending)
	}
	if p >= room {
		// Nothing until a request times out.
		due = max(due, o.firstTimeout())
	}
	if o.passiveCandidate() {
		return due
	}
	// No passive candidate, and in quiet ticks none appears (timeouts
	// remove an entry from both lists). memberCandidate calls RandomPeer,
	// not within JoinRetryTicks of the last JOIN.
	if o.cfg.RandomPeer != nil {
		if o.joinTries > 0 {
			due = max(due, o.lastJoin+int64(o.cfg.JoinRetryTicks))
		}
		return due
	}
	if a == 0 {
		return never // shuffleSoon does nothing without a neighbour
	}
	// Without RandomPeer fill only brings the shuffle forward, to the
	// tick after or RequestTimeout after the last shuffle, whichever is
	// later (shuffleSoon).
	return max(due+1, o.shuf.at+int64(o.cfg.RequestTimeout))
}

// firstTimeout is the first tick at which expireRequests may give up a
// request in flight.
func (o *Overlay) firstTimeout() int64 {
	due := o.now + nextDueNever
	for i := range o.pending {
		due = min(due, o.pending[i].sent+int64(o.cfg.RequestTimeout))
	}
	return max(due, o.failuresFrom())
}

// passiveCandidate reports whether randomCandidate may find a passive entry
// with no request in flight. Passive entries are distinct, so more of them
// than requests settles it; otherwise both lists are a few entries long.
func (o *Overlay) passiveCandidate() bool {
	if len(o.passive) > len(o.pending) {
		return true
	}
	for _, id := range o.passive {
		if o.pendingIndex(id) < 0 {
			return true
		}
	}
	return false
}
