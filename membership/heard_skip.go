package membership

import "github.com/grapevine-p2p/grapevine/core"

// A member's frames as evidence that it is alive: probes passed over for
// neighbours just heard from (Config.SkipHeardNeighbors, with
// Config.Neighbors only), and probes answered by the target's frames when
// its ack does not come (Config.HeardAnswersProbe, at the end of this
// file).
//
// SWIM probes a member to learn that it is alive. Over an overlay a
// neighbour that is sending this member frames (gossip, announcements,
// its own probes) is showing that every few milliseconds while messages
// flow, over an authenticated connection: nobody else can send a frame
// in its name. So the round-robin passes over a neighbour heard from
// within the last probe period and probes the next one; when every
// neighbour was heard from, the period goes without a probe. A neighbour
// that crashes stops being heard from: within a period it is a candidate
// again, and the silent slot (silent.go) goes to it first. What is saved
// is the probes, their acks and, under load, the late acks that turn into
// ping-reqs and suspicions: on two crowded cores a ping answered late is
// a suspicion of a live member.
//
// Some things ride on probes only: the view sum (view_sum.go), the local
// health score's recovery, and a share of the piggybacked updates. So at
// most heardSkipMax periods in a row go without a probe.

// heardSkipMax is how many probe periods in a row may go without a probe
// because every candidate was heard from: at least one probe every four
// periods.
const heardSkipMax = 3

// skipHeard reports whether the round-robin should pass over t, a
// neighbour heard from within the last probe period (counted).
func (m *Memberlist) skipHeard(t *member) bool {
	if !m.cfg.SkipHeardNeighbors || m.cfg.Neighbors == nil || m.heardSkips >= heardSkipMax {
		return false
	}
	e, ok := m.nbrSeen[t.id]
	if !ok || m.tick-e.heard >= uint64(m.cfg.ProbeInterval) {
		return false
	}
	m.stats.HeardSkips++
	return true
}

// noProbeThisPeriod counts a probe period that went without a probe
// because every candidate was passed over as heard from.
func (m *Memberlist) noProbeThisPeriod() {
	m.heardSkips++
	m.stats.PeriodsUnprobed++
}

// Probes answered by frames (Config.HeardAnswersProbe).
//
// A probe's ack can be lost, or read late, while the member it asked
// about goes on sending this member frames: its gossip, its announcements,
// its own probes. Such a frame, arriving after the ping went out, shows
// the member alive after the question was asked, which is all an ack
// shows, and it came over the member's own authenticated connection. So
// once the probe timeout passes without an ack, a probe whose target has
// been heard from since the ping ends as answered: no fallback ping and no
// ping-reqs (or, heard during the indirect stage, no suspicion at the end
// of the period). Lifeguard's local health does not move: the ack path
// may still be slow, but this member is not the one that failed to hear.
// A crashed member sends nothing after its crash, so it is still
// suspected at the end of the same period; a frame it sent just before,
// read after the ping went out (a host running behind), can end one probe
// as answered, and the next probe of it decides.
//
// The ticks are coarse: a frame stepped in the tick the ping went out may
// have been read before it, so only frames from a later tick count.

// probeTargetHeard notes a frame from from: it answers the current probe
// if from is its target and the ping went out in an earlier tick.
func (m *Memberlist) probeTargetHeard(from core.NodeID) {
	if p := &m.probe; p.active && p.target != nil && p.target.id == from && m.tick > p.sentAt {
		p.heard = true
	}
}

// heardSincePing reports whether the current probe's target sent a frame
// that arrived after the tick its ping went out.
func (m *Memberlist) heardSincePing() bool {
	return m.cfg.HeardAnswersProbe && m.probe.heard
}

// probeHeard ends the current probe as answered by the target's frames.
func (m *Memberlist) probeHeard() {
	p := &m.probe
	p.active = false
	p.target = nil
	m.stats.ProbesHeard++
}
