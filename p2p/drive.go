package p2p

import (
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// The driver: the one goroutine that owns the state machine (drive),
// the inboxes that hand it frames (enqueueIn), and what it does after
// each tick (afterTick).

// inFrame is an inbound frame on its way to the driver.
type inFrame struct {
	from     core.NodeID
	data     []byte
	src      *inStream // to release the frame's memory reservation once stepped
	reserved int
	at       int64 // when it was handed to the driver (monoNanos), for LagStats
}

// stepped tells the frame's stream the driver is done with it.
func (f *inFrame) stepped() {
	if f.src != nil {
		f.src.done(f.reserved)
	}
}

// enqueueIn hands an inbound frame to the driver. Membership frames never
// wait behind gossip: they have their own inbox, served first. It blocks
// while the inbox is full (back-pressure on that stream) and returns false
// when the peer is closing.
func (p *Peer) enqueueIn(k kind, f *inFrame) bool {
	ch := p.bulkIn
	if k == kindMembership {
		ch = p.ctrlIn
		f.at = monoNanos(time.Now())
	}
	select {
	case ch <- f:
		return true
	default:
	}
	if k == kindMembership {
		// A late probe is as good as a lost one: drop, do not wait.
		p.ctr.inDrops.Add(1)
		f.stepped()
		return true
	}
	select {
	case ch <- f:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// ctrlBurst is how many membership frames the driver steps in a row before
// it also serves ticks, API calls and gossip frames.
const ctrlBurst = 32

// drive is the driver loop: the only goroutine that touches the state
// machine. Real time drives Tick (on the schedule of tick_schedule.go:
// quiet ticks run back to back before the next input or the next tick
// the machine may act in); inbound frames go to Step (membership first);
// calls from the API run in between.
func (p *Peer) drive() {
	defer p.wg.Done()
	defer close(p.done)
	clk := newTickSchedule(p.s.tick, time.Now(), p.s.tickSkipping)
	defer clk.stop()
	p.clk = clk
	gapTimer := time.NewTimer(time.Hour)
	gapTimer.Stop()
	defer gapTimer.Stop()
	var gapC <-chan time.Time // armed while gap wants wait to be asked
	ackTimer := time.NewTimer(time.Hour)
	ackTimer.Stop()
	defer ackTimer.Stop()
	var ackC <-chan time.Time // armed while tree bodies await an acknowledgement or IWANTs an answer
	armAck := func() {
		if ackC == nil && p.mc.AwaitingAnswers() {
			ackTimer.Reset(p.answerWait(time.Now()))
			ackC = ackTimer.C
		}
	}
	var leaving chan struct{}
	var leaveDeadline time.Time
	// tick runs one tick of the machine and the driver's work after it.
	tick := func() {
		p.ctr.ticksRun.Add(1)
		p.mc.Tick()
		armAck()
		p.catchUp()
		p.afterTick()
		if leaving != nil && ((p.mc.Pending() == 0 && p.tr.queued() == 0) || time.Now().After(leaveDeadline)) {
			close(leaving)
			leaving = nil
		}
	}
	// woke notes when the driver's wait for work ended, once per wait
	// (with skipping: quietSplit's question).
	woke := func() {
		if clk.skip && clk.idleTo.Before(clk.idleFrom) {
			clk.idleTo = time.Now()
		}
	}
	// quiet runs the quiet ticks whose time has come: before any input,
	// so that the machine meets it at the same tick as without skipping.
	// They run as a ticker would have served them (quietSplit): every
	// tick that came due while the driver waited for work, at its time,
	// and one of each stretch that came due while it worked, when it was
	// next free; each reports its lateness as the ticker's did.
	quiet := func() {
		woke()
		if clk.due-clk.done <= 1 {
			return
		}
		now := time.Now()
		n := clk.quiet(now)
		if n == 0 {
			return
		}
		serve := func(at time.Time) {
			p.reportLag(p.ctr.lag.tickServed(at, p.s.tick))
			clk.done++
			tick()
		}
		busyBefore, waiting, busySince := clk.quietSplit(n)
		if busyBefore > 0 {
			clk.done += int64(busyBefore - 1) // dropped, as a ticker drops them
			serve(clk.idleFrom)
		}
		for ; waiting > 0; waiting-- {
			serve(clk.at(clk.done + 1))
		}
		if busySince > 0 {
			clk.done += int64(busySince - 1)
			serve(now)
		}
	}
	// sooner: an input may have given the machine work before the tick
	// the schedule waits for.
	sooner := func() {
		if clk.due-clk.done > 1 { // else the next tick is due anyway
			clk.sooner(p.nextDue(leaving != nil), time.Now())
		}
	}
	step := func(f *inFrame) {
		quiet()
		if f.at != 0 {
			p.reportLag(p.ctr.lag.frameWaited(f.at, time.Now()))
		}
		if err := p.mc.Step(f.from, f.data); err != nil {
			p.m.decodeErrs.Inc()
			p.ctr.decodeErrs.Add(1)
			log.Debugw("bad frame", "from", ShortID(f.from), "err", err)
		}
		f.stepped()
		if gapC == nil && p.mc.GapsWaiting() {
			// A message revealed missing ones: ask for them in a few
			// milliseconds rather than at the next tick (gapAskWait).
			gapTimer.Reset(gapAskWait(p.s.profile))
			gapC = gapTimer.C
		}
		armAck()
		sooner()
	}
	// drain steps the frames already in the inboxes. Timers whose firing
	// means "nothing came" run after it: an ack queued behind a burst of
	// frames is not a failed probe, and an eager body queued behind others
	// does not turn into an IWANT (Plumtree's timer), a resent tree body
	// or a gap want. At N = 1,000 after a crash, with frames waiting in
	// the inboxes for seconds, about one IWANT was answered per delivery,
	// most for bodies that had arrived (docs/benchmarks/ladder.md,
	// session 34).
	drain := func() {
		for n := len(p.ctrlIn); n > 0; n-- {
			step(<-p.ctrlIn)
		}
		for n := len(p.bulkIn); n > 0; n-- {
			step(<-p.bulkIn)
		}
	}
	ctrlRun := 0
	for {
		// Membership frames first, but at most ctrlBurst in a row: under a
		// steady stream of them the timers, the API and gossip still get a
		// turn (a starved Tick would stall probe timeouts, a starved call
		// would block Members or Publish for as long as the stream lasts).
		if ctrlRun < ctrlBurst {
			select {
			case f := <-p.ctrlIn:
				step(f)
				ctrlRun++
				continue
			default:
			}
		}
		ctrlRun = 0
		if clk.skip {
			clk.idleFrom = time.Now()
		}
		select {
		case <-p.ctx.Done():
			return
		case f := <-p.ctrlIn:
			step(f)
		case f := <-p.bulkIn:
			step(f)
		case fn := <-p.calls:
			quiet()
			fn()
			armAck()
			sooner()
		case <-gapC:
			p.ctr.gapWakes.Add(1)
			gapC = nil
			drain()
			quiet()
			p.mc.AskGaps()
			sooner()
		case <-ackC:
			// Resend tree bodies not acknowledged and IWANTs not
			// answered within one to two intervals (treeAckWait),
			// rather than wait for repair or IWantTimeout.
			p.ctr.answerWakes.Add(1)
			ackC = nil
			drain()
			quiet()
			p.mc.ResendUnanswered()
			armAck()
			sooner()
		case <-clk.timer.C:
			p.ctr.tickWakes.Add(1)
			quiet() // the ticks slept through first, each with its lag
			p.reportLag(p.ctr.lag.tickServed(time.Now(), p.s.tick))
			p.reportStarvation(time.Now())
			drain() // frames that arrived before this tick, before its timers
			clk.fired(time.Now())
			tick()
			d := 1
			if clk.skip {
				d = p.nextDue(leaving != nil)
			}
			clk.plan(d, time.Now())
		case ch := <-p.leave:
			quiet()
			p.mc.Leave()
			leaving, leaveDeadline = ch, time.Now().Add(p.s.leaveGrace)
			sooner()
		}
	}
}

// nextDue is how many ticks may pass before the next one in which this
// peer acts on its own (machine.NextDue), or 1 while the driver itself has
// work at every tick: leaving, pulling after a restart or behind a FIFO
// gap (catchUp), the history window, a revocation list to spread, events
// a slow reader left behind once it has made room for them (while it
// makes none they wait for the next wake-up, within a second).
func (p *Peer) nextDue(leaving bool) int {
	if leaving || p.events.flushable() || p.dur.tickWork() ||
		(p.auth != nil && p.auth.spreadPending.Load()) || p.engine().Behind() {
		return 1
	}
	return p.mc.NextDue()
}

var metricsEvery = 10 // ticks between gauge refreshes (1 s at 100 ms ticks)

// reapEvery is how often the driver closes streams parked longer than
// idleWriter.
const reapEvery = time.Minute

// afterTick hands events a reader fell behind on to Events() and
// refreshes gauges now and then (on the driver goroutine).
func (p *Peer) afterTick() {
	p.events.flush()
	now := time.Now()
	if idle := p.s.inbound.IdleTimeout; idle > 0 && now.After(p.nextIdleSweep) {
		p.tr.sweepIdleInbound(now)
		p.nextIdleSweep = now.Add(idleSweepEvery(idle))
	}
	if now.After(p.nextReap) {
		// Here, not on a ticker of its own: each timer channel the driver
		// waits on is put into and taken out of the runtime's timer heap
		// at every wake-up, and with 1,000 peers in one process the
		// heap's upkeep was 7 % of an idle group's CPU (p2pscale
		// -idleprofile, docs/benchmarks/ladder.md, session 34).
		if !p.nextReap.IsZero() {
			p.tr.reap(now.Add(-idleWriter), now.Add(-2*idleWriter))
		}
		p.nextReap = now.Add(reapEvery)
	}
	p.tickN++
	if p.tickN%metricsEvery != 1 {
		return
	}
	p.flushLogs()
	p.sweepConns()
	st := p.copyMachineStats()
	for i, n := range p.mc.MemberCounts() {
		p.m.byState[i].Set(float64(n))
	}
	es, gs, ms := st.Engine, p.mc.GuardStats(), st.Membership
	p.m.duplicates.Add(float64(es.Duplicates - p.lastDup))
	p.lastDup = es.Duplicates
	for _, r := range []struct {
		name string
		v    uint64
	}{
		{"peer_budget", es.PeerBudgetDrops}, {"store_evicted", es.StoreEvicted}, {"origins_evicted", es.OriginsEvicted},
		{"inbound_per_peer", es.InboundDropped}, {"too_large", es.TooLarge}, {"wants_dropped", es.WantsDropped},
		{"wants_expired", es.WantsExpired}, {"gaps_abandoned", es.GapsAbandoned}, {"pulls_limited", es.PullsLimited},
		{"iwants_limited", es.IWantsLimited},
		{"score_evicted", gs.Score.Evicted}, {"score_untracked", gs.Score.Untracked},
		{"publish_rate_untracked", gs.PublishUntracked},
		{"membership_relays_dropped", ms.RelaysDropped}, {"membership_updates_dropped", ms.UpdatesDropped},
		{"membership_state_answers_limited", ms.StateAnswersLimited},
	} {
		p.m.dropGauge(r.name).Set(float64(r.v))
	}
}
