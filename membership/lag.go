package membership

// Running behind (Lifeguard's premise, taken one step further): a member
// whose own process is short of CPU reads its acks late, and every probe it
// times out is then evidence against itself, not against the target. The
// owner (the adapter that feeds Step and Tick from real time) sees this
// directly: a frame that waited in its inbox, or a tick that came late.
// ReportLag passes that on. While this member has run behind within the
// window of a decision, the decision waits:
//
//   - a probe that ends without an ack is inconclusive: no suspicion (the
//     local health score still rises for the nacks it missed); and a probe
//     bound to end so asks no helper for ping-reqs at its timeout
//     (probeEndsBehind): whatever they answered, it would raise no
//     suspicion;
//   - a suspicion whose timer expires is not yet declared dead while the
//     lag lasts, that is until as many ticks after the last report as it
//     reported: the suspect's refutation may be among the frames that
//     waited that long (a hold of a whole probe period, stretched by the
//     local health that lag raises, kept a loaded group of 200 from
//     declaring real crashes for 10-18 s, p2pscale -n 200);
//
// and the local health score rises once per protocol period of lag, which
// stretches probe intervals and timeouts (fewer probes from a member that
// cannot keep up). Without lag nothing changes, so the simulator's
// experiments, whose members never run behind, behave as before.
//
// A flood of frames can make a member lag, and so delay its verdicts; the
// adapters bound inbound frames per peer and penalise floods, and a real
// crash is still declared once the lag is over.

// ReportLag tells this member that it ran behind real time by ticks ticks:
// a frame it is given waited that long before Step, or that many ticks
// passed without a Tick. Below half the probe timeout it is ignored (no
// effect on timing), as it is without Lifeguard.
func (m *Memberlist) ReportLag(ticks int) {
	if !m.cfg.Lifeguard || 2*ticks < max(m.cfg.ProbeTimeout, 1) {
		return
	}
	m.stats.LagReports++
	if !m.lagSeen || m.tick >= m.lagAt+uint64(m.cfg.ProbeInterval) {
		m.adjustHealth(1)
	}
	if !m.lagSeen || m.tick > m.lagAt+m.lagTicks {
		m.lagTicks = uint64(ticks)
	} else {
		m.lagTicks = max(m.lagTicks, uint64(ticks))
	}
	m.lagSeen, m.lagAt = true, m.tick
}

// verdictHeld reports whether a suspicion's verdict waits for frames this
// member has yet to read: it reported lag, and fewer ticks have passed
// since than the lag it reported.
func (m *Memberlist) verdictHeld() bool {
	return m.lagSeen && m.tick-m.lagAt <= m.lagTicks
}

// laggedWithin reports whether this member ran behind (ReportLag) within
// the last window ticks.
func (m *Memberlist) laggedWithin(window uint64) bool {
	return m.lagSeen && m.tick-m.lagAt <= window
}

// probeEndsBehind reports whether the current probe, should it get no ack
// before its end, is bound to end inconclusive: this member ran behind
// recently enough that the lag still counts at the probe's end. (The window
// is taken at today's health multiplier; lag only raises it.)
func (m *Memberlist) probeEndsBehind() bool {
	return m.lagSeen && m.probe.endAt-m.lagAt <= m.lagWindow()
}

// lagWindow is how recent a lag must be to hold a verdict: one protocol
// period at the current health multiplier (a probe's whole length).
func (m *Memberlist) lagWindow() uint64 {
	return uint64(m.cfg.ProbeInterval * m.healthMultiplier())
}
