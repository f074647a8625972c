package p2p

import (
	"sync/atomic"
	"time"
)

// LagStats says how far behind real time the driver ran: how long
// membership frames (probes, acks, suspicions) waited in the driver's inbox
// before they were stepped, and how many ticks came late. A peer whose
// frames wait is overloaded (its process short of CPU, or flooded): its
// probes' acks arrive in time but are read too late, which is what turns
// an overloaded group's load into false suspicions.
type LagStats struct {
	CtrlWaitOver100ms uint64        // membership frames that waited more than 100 ms
	CtrlWaitOver1s    uint64        // of which more than a second
	CtrlWaitMax       time.Duration // the longest wait
	TicksLate         uint64        // ticks served more than two periods after the previous one (a tick missed)
	// Overloaded is how many times the driver told membership it is
	// behind (Lifeguard's local health rose; lag.go).
	Overloaded uint64
	// Starved is how many of those reports came from the process's
	// goroutines waiting to run (starvation.go), and StarvedMax the
	// longest such wait reported.
	Starved    uint64
	StarvedMax time.Duration
}

// lagCounters is the atomic side of LagStats, written by the driver.
type lagCounters struct {
	over100ms, over1s, ticksLate, overloaded, starved atomic.Uint64
	maxWait, maxStarved                               atomic.Int64
	lastTick                                          time.Time // driver goroutine only
}

// frameWaited notes how long a membership frame waited in the inbox; it
// returns the wait if it counts as lag (over 100 ms), else 0.
func (l *lagCounters) frameWaited(enqueued int64, now time.Time) time.Duration {
	if enqueued == 0 {
		return 0
	}
	w := time.Duration(monoNanos(now) - enqueued)
	if w <= 100*time.Millisecond {
		return 0
	}
	l.over100ms.Add(1)
	if w > time.Second {
		l.over1s.Add(1)
	}
	raiseMax(&l.maxWait, w)
	return w
}

func raiseMax(m *atomic.Int64, d time.Duration) {
	for {
		v := m.Load()
		if int64(d) <= v || m.CompareAndSwap(v, int64(d)) {
			return
		}
	}
}

// tickServed notes a tick served at now (with ticks slept through, when a
// ticker would have served it: tick_schedule.go); it returns how late it
// came (the time since the previous one beyond one period) if a tick was
// missed, else 0.
func (l *lagCounters) tickServed(now time.Time, period time.Duration) time.Duration {
	var late time.Duration
	if !l.lastTick.IsZero() && now.Sub(l.lastTick) > 2*period {
		late = now.Sub(l.lastTick) - period
		l.ticksLate.Add(1)
	}
	l.lastTick = now
	return late
}

func (l *lagCounters) stats() LagStats {
	return LagStats{
		CtrlWaitOver100ms: l.over100ms.Load(), CtrlWaitOver1s: l.over1s.Load(),
		CtrlWaitMax: time.Duration(l.maxWait.Load()), TicksLate: l.ticksLate.Load(),
		Overloaded: l.overloaded.Load(), Starved: l.starved.Load(),
		StarvedMax: time.Duration(l.maxStarved.Load()),
	}
}

// reportLag passes a lag of d on to the state machine in whole ticks
// (driver goroutine); below one tick it is not lag the machine could act on.
func (p *Peer) reportLag(d time.Duration) {
	if t := int(d / p.s.tick); t > 0 {
		p.ctr.lag.overloaded.Add(1)
		p.mc.ReportLag(t)
	}
}

// reportStarvation passes the process's recent goroutine waits on as lag
// (starvation.go), at each tick the driver wakes for.
func (p *Peer) reportStarvation(now time.Time) {
	if !p.s.starvationLag {
		return
	}
	d := processStarvation.recent(now)
	if d < p.s.tick {
		return
	}
	p.ctr.lag.starved.Add(1)
	raiseMax(&p.ctr.lag.maxStarved, d)
	p.reportLag(d)
}

// answerWait is how long the driver waits before its next call to resend
// unanswered tree bodies and IWANTs and to send deferred announcements
// (Engine.ResendUnanswered, which counts these calls to time first asks
// and retries). With WithStarvationLag, while the process is starved the
// wait grows by its goroutines' recent 99th-percentile wait: a body
// announced by one neighbour is then often on its way from another, held
// up in some goroutine of this process or of the sender's, and an IWANT
// after two 10 ms calls is premature (at N = 1,000 on two cores: IWANTs
// 13,164 in a window instead of 19,858-28,264, the driver's wake-ups for
// these calls 38,233 instead of 193,201; docs/benchmarks/ladder.md,
// session 42).
func (p *Peer) answerWait(now time.Time) time.Duration {
	w := treeAckWait(p.s.profile)
	if !p.s.starvationLag {
		return w
	}
	if d := processStarvation.recent(now); d >= p.s.tick {
		w += d
	}
	return w
}
