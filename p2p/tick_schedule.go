package p2p

import (
	"context"
	"time"
)

// The driver's tick schedule: quiet ticks are not woken for.
//
// The state machine counts time in ticks of p.s.tick. Most of an idle
// peer's ticks do nothing but housekeeping (a counter, a budget reset, an
// expiry): no frame, no event. Such a tick need not run at its own time,
// only before the machine's next input, so the driver asks the machine
// how many ticks may pass before it next acts (machine.NextDue), sleeps
// until that tick's time, and runs the quiet ticks in between back to back,
// either then or before the first input that comes sooner. The machine sees
// the same sequence of ticks and inputs as it would with a tick every
// period; what changes is how often the driver wakes: an idle peer of a
// formed group of 1,000 woke for 2 ticks a second instead of 10, and the
// group's idle CPU fell 3 to 15 % (the select, the runtime's timer upkeep
// and scheduling of each wake-up; the quiet ticks' own work remains;
// p2pscale -tickab, docs/benchmarks/ladder.md, session 39). A browser tab,
// whose timers the browser may throttle, is woken less as well.
//
// It is off by default (WithTickSkipping): a driver that wakes every
// period also finds out every period whether the process gives it the
// CPU in time (a late tick is lag, reported to membership, whose
// Lifeguard then slows its probing and holds its verdicts). Sleeping
// through quiet ticks samples that only at the ticks the machine acts in
// and at inputs, and in overloaded groups of 1,000 peers in one process
// members then suspected each other about four times as often, while
// forming (about 2,100-2,400 suspicions against 480-760); loaded steady
// windows had more too (556 against 137 and 1,092 against 525, in two
// pairs), though they vary as much between runs of one setting.
// Measuring lag, and keeping the clock a ticker kept, without the ticks
// is what it would take to turn it on by default.
//
// Ticks sit on a grid: tick i is due at origin + i·period. A tick the
// machine may act in is run when the timer fires; if the driver serves it
// more than a period late (the process is short of CPU), the grid ticks
// after it that have also passed are dropped, as a time.Ticker drops
// them. Quiet ticks run as a ticker would have served them (quietSplit),
// and every tick, quiet or not, reports lag to the machine as the
// ticker's did (lagCounters.tickServed), at the time a ticker would have
// served it: an overloaded peer keeps the same protocol clock and the
// same verdict holds as with a tick every period.

// SetTickSkipping turns the sleeping through quiet ticks on or off on a
// running peer (WithTickSkipping sets it at the start): a comparison of
// the two on one formed group does not depend on how that group formed.
func (p *Peer) SetTickSkipping(ctx context.Context, on bool) error {
	return p.call(ctx, func() { p.clk.skip = on })
}

// maxQuietTicks bounds how many ticks the driver sleeps through (1 s at
// 100 ms ticks): afterTick's once-a-second work (gauges, StatsNow's copy)
// and the events a slow reader left behind still come about once a second.
const maxQuietTicks = 10

type tickSchedule struct {
	period time.Duration
	origin time.Time   // when grid tick 0 was due
	done   int64       // the grid index of the last tick run
	due    int64       // the grid index of the next tick the machine may act in
	armed  int64       // the grid index the timer is set for
	timer  *time.Timer // fires at tick due's time
	skip   bool        // sleep through quiet ticks (WithTickSkipping)
	// idleFrom and idleTo bound the driver's last wait for work: quiet
	// ticks due while it waited are late by choice, those due while it
	// worked are late as a ticker's would have been (quietSplit).
	idleFrom, idleTo time.Time
}

func newTickSchedule(period time.Duration, now time.Time, skip bool) *tickSchedule {
	return &tickSchedule{period: period, origin: now, due: 1, armed: 1, timer: time.NewTimer(period), skip: skip}
}

func (s *tickSchedule) stop() { s.timer.Stop() }

// at is when grid tick i is due.
func (s *tickSchedule) at(i int64) time.Time { return s.origin.Add(time.Duration(i) * s.period) }

// passed is the index of the last grid tick due by now.
func (s *tickSchedule) passed(now time.Time) int64 { return int64(now.Sub(s.origin) / s.period) }

// quiet returns how many quiet ticks are due by now: the ticks after the
// last one run, up to now and before the next tick the machine may act in.
func (s *tickSchedule) quiet(now time.Time) int {
	if s.due-s.done <= 1 {
		return 0
	}
	if n := min(s.passed(now), s.due-1) - s.done; n > 0 {
		return int(n)
	}
	return 0
}

// quietSplit splits the n quiet ticks due by now (quiet) the way a
// ticker would have served them: the ones that came due while the driver
// worked before its last wait for work, those that came due during that
// wait, and those that came due since it ended. A ticker serves every tick
// of a wait, but of a stretch of work only one: its channel holds one
// tick and drops the others, so a driver short of CPU ran its protocol
// clock slow, and probe timeouts long, while it caught up. The driver
// drops ticks the same way, so that skipping changes wake-ups, not the
// clock an overloaded peer keeps.
func (s *tickSchedule) quietSplit(n int) (busyBefore, waiting, busySince int) {
	for i := int64(1); i <= int64(n); i++ {
		switch g := s.at(s.done + i); {
		case g.Before(s.idleFrom):
			busyBefore++
		case g.Before(s.idleTo):
			waiting++
		default:
			busySince++
		}
	}
	return busyBefore, waiting, busySince
}

// fired is called when the timer fired, after the quiet ticks before the
// due one have run; it accounts for the due tick about to run and returns
// how late it is served. Grid ticks after it that have passed as well are
// dropped. plan must follow once the tick has run.
func (s *tickSchedule) fired(now time.Time) (late time.Duration) {
	late = now.Sub(s.at(s.due))
	s.done = max(s.due, s.passed(now))
	s.armed = -1 // the timer's value is consumed
	return late
}

// plan sets the next tick the machine may act in, d ticks after the last
// one run (its NextDue answer, bounded by maxQuietTicks; 1 without
// skipping), and arms the timer for it.
func (s *tickSchedule) plan(d int, now time.Time) {
	s.due = s.done + s.bound(d)
	s.arm(now)
}

// sooner moves the next tick the machine may act in to d ticks after the
// last one run, if that is sooner (after an input gave it work).
func (s *tickSchedule) sooner(d int, now time.Time) {
	if due := s.done + s.bound(d); due < s.due {
		s.due = due
		s.arm(now)
	}
}

func (s *tickSchedule) bound(d int) int64 {
	if !s.skip {
		return 1
	}
	return int64(min(max(d, 1), maxQuietTicks))
}

func (s *tickSchedule) arm(now time.Time) {
	if s.armed == s.due {
		return
	}
	s.armed = s.due
	s.timer.Reset(s.at(s.due).Sub(now))
}
