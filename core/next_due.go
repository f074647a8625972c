package core

// NextDue: how long a driver may sleep through Tick calls.
//
// A driver that wakes for every tick of every peer spends much of an idle
// group's CPU on wake-ups whose Tick does nothing visible. NextDue tells it
// how many ticks may pass before one can produce output: a frame handed
// to the Transport, a delivery, a Lost or Late report, or a call into any
// configured hook that has an effect (Penalizer, ServiceScore's Served and
// Unserved, Piggybacker, PeerSampler.Sample, which draws from the sampler's
// randomness). The driver runs the skipped ticks back to back before it
// hands the engine anything else, so the engine's state ends up exactly as
// if every tick had run on time; only the outputs of skipped ticks would
// come late, and NextDue's answer is early or exact, never late.
//
// Everything Tick does is accounted for below, in Tick's order:
//
//   - expireStore: housekeeping, no output. An entry that expires only
//     takes output away (a hot message not pushed, an announcement or a
//     resend left out), and the one thing it can enable later, an origin's
//     expiry, is bounded without it (originsDue).
//   - expireWants: every pending want acts at its deadline (an IWANT to the
//     next announcer, a Served/Unserved report, or a silent give-up that
//     changes the pull digest): wantsDue.
//   - resendOnTick: tree bodies awaiting an acknowledgement with no
//     ResendUnanswered call since they were sent are resent two ticks
//     after: unackedDue.
//   - flushAnnounces: the first deferred announcement (they leave in
//     order) with no ResendUnanswered call since leaves a tick after it
//     was queued: announceDue.
//   - the round (every RoundTicks): the per-peer budgets, forgetFullBudgets
//     and forgetAckers are housekeeping; pushRound, pullRound and
//     originHousekeeping may act: pushDue, pullDueTick, originsDue.
//   - retryUnknown: a message held for an unknown origin asks the
//     OriginGate every tick, and the answer depends on the membership
//     layer, which changes without any call into the engine: while one is
//     held the next tick may act. Pruning the table of reported pairs is
//     housekeeping.
//   - flush only sends what the tick built.

// nextDueNever is NextDue's answer when nothing is scheduled at all; the
// caller caps it.
const nextDueNever = 1 << 20

// nextDueOriginScan bounds the origins NextDue looks at one by one (FIFO
// hold-back timeouts, gaps abandoned, origins expiring). Beyond it NextDue
// answers as if one of them acted at the next round (FIFO) or changed the
// digest then (idle pull backoff), rather than cost O(origins) a call.
const nextDueOriginScan = 256

// NextDue reports how many ticks may pass before the engine next acts on
// its own: d >= 1 means that if no input arrives (no StepFrame, Publish or
// any other method call that changes state), the next d-1 calls of Tick
// send no frame, deliver nothing and call no configured hook or
// callback; the d-th may. 1 means the next Tick may act. The answer may
// be early (smaller than the truth), never late.
//
// NextDue changes nothing and allocates nothing; it costs the pending
// wants, unacknowledged tree bodies and hot messages it looks at (each
// scan stops once the next tick is due) and, only when nothing else is due
// by the next round, at most nextDueOriginScan origins.
func (e *Engine) NextDue() int {
	if len(e.unknown.msgs) > 0 {
		return 1 // retryUnknown asks the OriginGate every tick
	}
	now := e.ticks
	next := now + 1
	due := now + nextDueNever
	due = min(due, e.wantsDue(next))
	if due > next {
		due = min(due, e.unackedDue(next))
	}
	if due > next {
		due = min(due, e.announceDue(next))
	}
	if round := e.roundTickAfter(now); due > round {
		// Everything below acts at round ticks only.
		due = min(due, e.pushDue(), e.pullDueTick())
		if due > round {
			due = min(due, e.originsDue())
		}
	}
	return int(due - now)
}

// wantsDue is the first tick a pending want acts (expireWants): at its
// deadline it is asked of the next announcer, reported, or given up,
// which changes the pull digest. A want whose body arrived is only
// dropped from the list.
func (e *Engine) wantsDue(next uint64) uint64 {
	due := uint64(1<<63 - 1)
	for _, w := range e.wantList {
		if w.done {
			continue
		}
		if w.deadline <= next {
			return next
		}
		due = min(due, w.deadline)
	}
	return due
}

// unackedDue is the first tick resendOnTick resends a tree body: one with
// no ResendUnanswered call since it was (re)sent goes again two ticks
// after. The others are resent only by ResendUnanswered, an input. A body
// whose message expired meanwhile is given up silently: counted anyway.
func (e *Engine) unackedDue(next uint64) uint64 {
	due := uint64(1<<63 - 1)
	for _, u := range e.unacked {
		if u.gen != e.ackGen {
			continue
		}
		if u.tick+2 <= next {
			return next
		}
		due = min(due, u.tick+2)
	}
	return due
}

// announceDue is the tick flushAnnounces sends the oldest deferred
// announcement: the tick after it was queued, if no ResendUnanswered call
// came since. The queue leaves in order, so one not due on ticks (a call
// came since: its delay is counted in calls, an input) holds the rest back.
func (e *Engine) announceDue(next uint64) uint64 {
	if len(e.plum.announce) == 0 {
		return 1<<63 - 1
	}
	pa := e.plum.announce[0]
	if pa.gen != e.ackGen {
		return 1<<63 - 1
	}
	return max(pa.tick+1, next)
}

// pushDue is the tick pushRound next sends: the next round, while a hot
// message has rounds left. Under Plumtree's quiet rounds
// (PlumRoundsAfterLoss) the rounds of hot messages pass without output,
// and stay quiet: the loss that ends them is an IWANT sent (an output of
// its own, at a want's deadline) or a neighbour gone, which only a call
// into the engine notices (plumRefresh), or flushAnnounces on every tick
// while announcements wait, hence those are not taken as quiet.
func (e *Engine) pushDue() uint64 {
	if e.cfg.Mode == Pull {
		return 1<<63 - 1
	}
	live := false
	for _, en := range e.hot {
		if !en.gone && en.roundsLeft > 0 {
			live = true
			break
		}
	}
	if !live {
		return 1<<63 - 1
	}
	round := e.roundTickAfter(e.ticks)
	if e.cfg.PlumRoundsAfterLoss > 0 && round >= e.plum.lossUntil && len(e.plum.announce) == 0 {
		if _, ok := e.plumLister(); ok {
			return 1<<63 - 1 // quiet rounds (plumQuiet)
		}
	}
	return round
}

// pullDueTick is the tick pullRound next sends a digest: the next pull
// period, or with the idle backoff (pull_idle.go's pullDue) the period
// after the ones still to skip, as long as nothing changes what the digest
// would say. What changes it without input is a want expiring (wantsDue
// counts its deadline), an origin expiring or a gap abandoned
// (originsDue), and a held message taken in (NextDue answers 1).
func (e *Engine) pullDueTick() uint64 {
	if e.cfg.Mode == Push {
		return 1<<63 - 1
	}
	first := e.pullPeriodAfter(e.ticks)
	p := &e.pullIdle
	if e.cfg.PullIdleMax <= 1 || e.stateVer != p.sentVer || e.digestGaps || p.hint != "" || len(e.wants) > 0 || p.skip <= 0 {
		return first
	}
	return first + uint64(p.skip)*uint64(e.cfg.PullEvery)*uint64(e.cfg.RoundTicks)
}

// pullBackoffMatters reports whether a change of the digest moves the next
// pull round earlier: only under the idle backoff.
func (e *Engine) pullBackoffMatters() bool {
	return e.cfg.Mode != Push && e.cfg.PullIdleMax > 1
}

// originsDue is the first tick originHousekeeping acts. A FIFO hold-back
// whose FIFOStart or FIFOTimeout passes delivers (and reports a gap
// lost): an output. Abandoning a gap (GapTimeout) and forgetting an
// origin (SeenTTL) send nothing, but change the digest, which ends the idle
// pull backoff at the next pull period: that period is due. An origin's
// expiry is bounded by lastActive+SeenTTL alone; its stored messages and
// hold-back, which may postpone it, are not looked at (early, not late).
func (e *Engine) originsDue() uint64 {
	fifo, pull := e.cfg.FIFO, e.pullBackoffMatters()
	if !fifo && !pull {
		return 1<<63 - 1
	}
	round := e.roundTickAfter(e.ticks)
	if len(e.originList) > nextDueOriginScan {
		if fifo {
			return round
		}
		return e.pullPeriodAfter(round)
	}
	due := uint64(1<<63 - 1)
	for _, o := range e.originList {
		if fifo && len(o.held) > 0 {
			th := o.heldSince + uint64(e.cfg.FIFOTimeout)
			if !o.cursorSet {
				th = min(th, o.heldSince+uint64(e.cfg.FIFOStart))
			}
			due = min(due, e.roundTickFrom(th))
		}
		if !pull {
			continue
		}
		if len(o.above) > 0 {
			due = min(due, e.pullPeriodAfter(e.roundTickFrom(o.gapSince+uint64(e.cfg.GapTimeout))))
		}
		if o.id != e.cfg.ID {
			due = min(due, e.pullPeriodAfter(e.roundTickFrom(o.lastActive+uint64(e.cfg.SeenTTL))))
		}
	}
	return due
}

// roundTickAfter is the first round tick (a multiple of RoundTicks: Tick
// runs the round when its tick count is one) after tick t.
func (e *Engine) roundTickAfter(t uint64) uint64 {
	rt := uint64(e.cfg.RoundTicks)
	return (t/rt + 1) * rt
}

// roundTickFrom is the first round tick at or after t and after now.
func (e *Engine) roundTickFrom(t uint64) uint64 {
	if t <= e.ticks {
		return e.roundTickAfter(e.ticks)
	}
	return e.roundTickAfter(t - 1)
}

// pullPeriodAfter is the first round tick after t (t >= now) whose round
// is a pull round: its number, e.rounds plus the rounds from now, a
// multiple of PullEvery.
func (e *Engine) pullPeriodAfter(t uint64) uint64 {
	rt, every := uint64(e.cfg.RoundTicks), uint64(e.cfg.PullEvery)
	k := t/rt + 1                      // in round ticks: the first after t
	num := e.rounds + (k - e.ticks/rt) // that round's number
	if r := num % every; r != 0 {
		k += every - r
	}
	return k * rt
}
