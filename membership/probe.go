package membership

import (
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

type probe struct {
	active        bool
	forced        bool // of a member reported unreachable, not a neighbour (neighbors.go)
	target        *member
	seq           uint64
	sentAt        uint64 // the tick the ping went out
	heard         bool   // a frame of the target arrived in a later tick (heard_skip.go)
	timeoutAt     uint64
	endAt         uint64
	indirect      bool
	expectedNacks int
	nacks         int
	lagged        bool          // no ping-reqs: the probe was bound to end inconclusive (lag.go)
	helpers       []core.NodeID // the members asked to ping-req, the only ones whose acks and nacks count
	nacked        uint64        // bit i: helpers[i] has nacked
}

type relay struct {
	seq       uint64 // this member's ping to the target
	requester core.NodeID
	target    core.NodeID // the only member whose ack completes the relay
	reqSeq    uint64
	nackAt    uint64 // 0: no nack (sent or not wanted)
	expire    uint64
}

// healthMultiplier is the factor stretching probe intervals and timeouts:
// Lifeguard's local health multiplier, or 1 without Lifeguard.
func (m *Memberlist) healthMultiplier() int {
	if !m.cfg.Lifeguard {
		return 1
	}
	return m.health + 1
}

// adjustHealth moves Lifeguard's local health score by delta, within
// 0..AwarenessMaxMultiplier-1 (no-op without Lifeguard).
func (m *Memberlist) adjustHealth(delta int) {
	if !m.cfg.Lifeguard {
		return
	}
	m.health = min(max(m.health+delta, 0), m.cfg.AwarenessMaxMultiplier-1)
}

// checkProbe runs the probe's deadlines (indirect probe at the timeout,
// failure at the end of the period) and starts the next probe when due.
func (m *Memberlist) checkProbe() {
	p := &m.probe
	if p.active && m.tick >= p.timeoutAt && m.heardSincePing() {
		m.probeHeard() // heard_skip.go
	}
	if p.active && !p.indirect && m.tick >= p.timeoutAt {
		m.indirectProbe()
	}
	if p.active && m.tick >= p.endAt {
		p.active = false
		m.probeFailed()
	}
	if m.tick >= m.nextProbe {
		m.startProbe()
	}
}

// nextTarget returns the next live member of the shuffled round-robin order,
// reshuffling at the end of each round (SWIM §4.3: every member is probed
// once per round, so detection time is bounded).
func (m *Memberlist) nextTarget() *member {
	m.flushProbeOrder()
	m.forcedProbe = false
	if !m.wasUrgent {
		if u := m.nextUnreachable(); u != nil {
			m.wasUrgent, m.forcedProbe = true, true
			m.stats.SuspectProbes++
			return u
		}
	}
	if u := m.urgent; u != nil && (u.removed || !u.state.Live() || u.state != StateSuspect) {
		m.urgent = nil // refuted or gone meanwhile
	}
	if u := m.urgent; u != nil && !m.wasUrgent && m.probeCandidate(u) {
		m.urgent = nil
		m.wasUrgent = true
		m.stats.SuspectProbes++
		return u
	}
	m.wasUrgent = false
	if !m.wasSilent {
		if s := m.silentNeighbor(); s != nil && m.probeCandidate(s) {
			m.wasSilent = true
			m.stats.SilentProbes++
			return s
		}
	}
	m.wasSilent = false
	rebuilt, passedOver := false, false
	for {
		if m.probeIdx >= len(m.probeOrder) {
			if rebuilt || len(m.live) == 0 {
				if passedOver {
					m.noProbeThisPeriod()
				}
				return nil
			}
			rebuilt = true
			m.rebuildProbeOrder()
			continue
		}
		t := m.probeOrder[m.probeIdx]
		m.probeOrder[m.probeIdx] = nil
		m.probeIdx++
		if m.probeCandidate(t) {
			if m.skipHeard(t) {
				passedOver = true
				continue
			}
			return t
		}
	}
}

// startProbe pings the next target and schedules the next probe.
func (m *Memberlist) startProbe() {
	mult := m.healthMultiplier()
	m.nextProbe = m.tick + uint64(m.cfg.ProbeInterval*mult)
	t := m.nextTarget()
	if t == nil {
		return
	}
	m.heardSkips = 0
	m.pingSeq++
	m.noteProbed(t)
	m.probe = probe{
		active:    true,
		forced:    m.forcedProbe,
		target:    t,
		seq:       m.pingSeq,
		sentAt:    m.tick,
		timeoutAt: m.tick + uint64(m.cfg.ProbeTimeout*mult),
		endAt:     m.tick + uint64(m.cfg.ProbeInterval*mult),
	}
	m.stats.PingsSent++
	f := appendPing(core.NewFrame(nil), ping{seq: m.pingSeq, target: t.id})
	if m.cfg.ViewSums && m.cfg.MemberSample == 0 {
		count, sum := m.viewSum()
		f = appendViewSum(f, count, sum) // view_sum.go
	}
	m.send(t.id, f, t.id)
}

// indirectProbe runs at the probe timeout: the fallback ping, if configured,
// and ping-reqs to IndirectChecks random members.
func (m *Memberlist) indirectProbe() {
	p := &m.probe
	p.indirect = true
	if m.cfg.FallbackProbe {
		// A second direct ping on the reliable path, without piggybacked
		// updates (as memberlist's TCP ping carries none).
		m.stats.FallbackPings++
		m.transmit(p.target.id, appendPingType(core.NewFrame(nil), RecPingFallback, ping{seq: p.seq, target: p.target.id}))
	}
	if m.cfg.IndirectChecks == 0 {
		return
	}
	if m.probeEndsBehind() {
		// Whatever the helpers answered, this probe would raise no
		// suspicion: no work asked of them, and no frames added to a load
		// that already holds this member back.
		p.lagged = true
		m.stats.PingReqsSkipped++
		return
	}
	helpers := m.sample(m.cfg.IndirectChecks, p.target)
	p.helpers = append(p.helpers[:0], helpers...)
	var nackAfter uint64
	if m.cfg.Lifeguard && p.endAt > m.tick {
		// Lifeguard: a helper nacks at 80 % of the time left, so the nack
		// arrives before this member gives up.
		nackAfter = max(1, (p.endAt-m.tick)*8/10)
		p.expectedNacks = len(helpers)
	}
	for _, h := range helpers {
		m.stats.PingReqsSent++
		m.send(h, appendPingReq(core.NewFrame(nil), pingReq{seq: p.seq, target: p.target.id, nackAfter: nackAfter}), "")
	}
}

// probeFailed ends a probe that got no ack: the health score absorbs the
// missed nacks and the target becomes suspect.
func (m *Memberlist) probeFailed() {
	p := &m.probe
	m.stats.ProbesFailed++
	if m.cfg.Lifeguard {
		// Lifeguard: a failed probe whose helpers all nacked says the target
		// is down, not this member; missing nacks (or no helpers to ask)
		// say this member may be the slow one.
		if p.expectedNacks > 0 {
			missed := max(p.expectedNacks-p.nacks, 0)
			m.stats.MissedNacks += uint64(missed)
			m.adjustHealth(missed)
		} else if !p.lagged {
			// No helper to ask. (When none was asked because this member
			// ran behind, ReportLag already counted that against it.)
			m.adjustHealth(1)
		}
	}
	t := p.target
	p.target = nil
	if t == nil || t.removed || !t.state.Live() {
		return
	}
	if m.laggedWithin(m.lagWindow()) {
		// Its ack may be among the frames this member has not read yet.
		m.stats.ProbesInconclusive++
		if p.forced {
			// Nobody else may probe it any more: try again.
			m.queueUnreachable(t)
		}
		return
	}
	m.stats.Suspicions++
	m.applySuspect(m.ownAccusation(RecSuspect, t), "")
}

// checkRelays sends the nacks that are due and drops expired relays.
func (m *Memberlist) checkRelays() {
	if len(m.relays) == 0 {
		return
	}
	keep := m.relays[:0]
	for _, r := range m.relays {
		if r.nackAt != 0 && m.tick >= r.nackAt {
			r.nackAt = 0
			m.stats.NacksSent++
			m.send(r.requester, appendSeq(core.NewFrame(nil), RecNack, r.reqSeq), "")
		}
		if m.tick >= r.expire {
			continue
		}
		keep = append(keep, r)
	}
	m.relays = keep
}

// onPing answers a ping addressed to this member with an ack.
func (m *Memberlist) onPing(from core.NodeID, p ping, fallback bool) {
	if p.target != m.cfg.ID {
		m.stats.Stale++ // meant for a previous holder of this address
		return
	}
	m.stats.AcksSent++
	if fallback {
		// Answered on the same reliable path, bare.
		m.transmit(from, appendSeq(core.NewFrame(nil), RecAckFallback, p.seq))
		return
	}
	f := appendSeq(core.NewFrame(nil), RecAck, p.seq)
	if mem := m.members.get(m.all, from); mem != nil && mem.state == StateDead {
		// Gossip to the dead: a member we believe failed is pinging us, so
		// tell it; if it is alive it refutes.
		f = appendAccuse(f, RecDead, m.ownAccusation(RecDead, mem))
	}
	m.send(from, f, from)
}

// onPingReq pings the target on the requester's behalf (or acks at once if
// the target is this member) and remembers the relay.
func (m *Memberlist) onPingReq(from core.NodeID, p pingReq) {
	if p.target == m.cfg.ID {
		m.stats.AcksSent++
		m.send(from, appendSeq(core.NewFrame(nil), RecAck, p.seq), from)
		return
	}
	if m.cfg.Neighbors != nil && !m.cfg.Neighbors.IsNeighbor(p.target) {
		m.refuseRelay(from, p)
		return
	}
	if len(m.relays) >= m.cfg.MaxPendingRelays {
		m.stats.RelaysDropped++
		return
	}
	if m.authenticated() && !m.mayRelay(from, p.target) {
		m.stats.RelaysRefused++
		return
	}
	// The requester's nackAfter is a claim: clamped to the longest probe
	// period, so a relay entry lives at most two such periods.
	nackAfter := min(p.nackAfter, uint64(m.cfg.ProbeInterval*m.cfg.AwarenessMaxMultiplier))
	m.pingSeq++
	r := relay{seq: m.pingSeq, requester: from, target: p.target, reqSeq: p.seq,
		expire: m.tick + 2*max(nackAfter, uint64(m.cfg.ProbeInterval))}
	if nackAfter > 0 {
		r.nackAt = m.tick + nackAfter
	}
	m.relays = append(m.relays, r)
	m.stats.RelaysServed++
	m.stats.PingsSent++
	m.send(p.target, appendPing(core.NewFrame(nil), ping{seq: m.pingSeq, target: p.target}), p.target)
}

// refuseRelay answers, over an overlay (Config.Neighbors), a ping-req for
// a target that is not this member's neighbour: pinging it would mean a new
// connection, its handshake at both ends, and a connection for the owner
// to trim again, all at the moment the target is slow (a direct probe of
// it just went unanswered). At n = 1,000 on two cores, while messages
// flowed, these relays were nearly every connection dialled (15,418
// frames went to members with no connection, 276 of them gossip: bench
// -stats, window counters), and TLS handshakes took 8 % of the CPU. The
// helper nacks at once instead, when the requester asked for nacks
// (Lifeguard): it is alive and answering, so its refusal does not read as
// the requester's own slowness. A helper that is the target's neighbour
// too still relays (at N = 50 with 16 links each, about a quarter of the
// ping-reqs in bench's silent-crash window).
func (m *Memberlist) refuseRelay(from core.NodeID, p pingReq) {
	m.stats.RelaysNotNeighbor++
	if p.nackAfter > 0 {
		m.stats.NacksSent++
		m.send(from, appendSeq(core.NewFrame(nil), RecNack, p.seq), "")
	}
}

// maxRelaysPerRequester bounds the ping-reqs one requester has served at
// once: an honest requester probes one member at a time and asks each
// helper once per probe, and a relay lives at most two probe periods.
const maxRelaysPerRequester = 2

// mayRelay reports whether a ping-req of from for target may be served in
// authenticated mode: the target must be a member this one knows (no
// pinging an arbitrary address on a requester's word), and the requester
// within its share of the relay table.
func (m *Memberlist) mayRelay(from, target core.NodeID) bool {
	if m.members.get(m.all, target) == nil {
		return false
	}
	n := 0
	for i := range m.relays {
		if m.relays[i].requester == from {
			n++
		}
	}
	if n >= maxRelaysPerRequester {
		m.penalize(from, core.OffenceFlood)
		return false
	}
	return true
}

// onAck ends this member's probe, or forwards the ack of a relayed ping to
// its requester. Sequence numbers are easy to guess, so an ack counts only
// from the member it is expected from: the probe's target, one of its
// helpers, or the relay's target.
func (m *Memberlist) onAck(from core.NodeID, seq uint64, fallback bool) {
	if p := &m.probe; p.active && p.seq == seq {
		if from != p.target.id && (fallback || !slices.Contains(p.helpers, from)) {
			m.stats.SpoofedAcks++
			return
		}
		p.active = false
		p.target = nil
		if fallback {
			// The target is alive, but the lossy path failed: no credit
			// to this member's health (nor blame: the target answered).
			m.stats.FallbackAcks++
			return
		}
		m.stats.AcksReceived++
		m.adjustHealth(-1)
		return
	}
	if fallback {
		m.stats.LateAcks++
		return
	}
	for i := range m.relays {
		r := &m.relays[i]
		if r.seq == seq {
			if from != r.target {
				m.stats.SpoofedAcks++
				return
			}
			m.stats.AcksSent++
			m.send(r.requester, appendSeq(core.NewFrame(nil), RecAck, r.reqSeq), r.requester)
			m.relays = slices.Delete(m.relays, i, i+1)
			return
		}
	}
	m.stats.LateAcks++
}

// onNack counts a helper's nack for the current probe, once per helper.
func (m *Memberlist) onNack(from core.NodeID, seq uint64) {
	p := &m.probe
	if !p.active || p.seq != seq || !p.indirect {
		return
	}
	i := slices.Index(p.helpers, from)
	if i < 0 || i >= 64 || p.nacked&(1<<i) != 0 {
		m.stats.SpoofedAcks++
		return
	}
	p.nacked |= 1 << i
	m.stats.NacksReceived++
	p.nacks++
}

// probeSoon makes a member suspected by someone else this member's next
// probe target (Config.ProbeSuspects): its own probe either confirms the
// suspicion, which shrinks everyone's timeout towards the minimum
// (Lifeguard), or reaches the suspect with the suspicion piggybacked (the
// buddy system) and brings back its refutation. One such probe at most
// between two probes of the round-robin order, and only the latest
// suspect waits: a storm of suspicions can at most halve the pace of the
// round, never stall it (time-bounded completeness, SWIM §4.3). Over an
// overlay only a neighbour takes the slot: this member does not probe
// others, and a suspect it cannot probe would push out one it can (in a
// wave of crashes every member hears of every victim, and each must probe
// the few that were its neighbours).
func (m *Memberlist) probeSoon(mem *member) {
	if !m.cfg.ProbeSuspects || m.left || (m.probe.active && m.probe.target == mem) || !m.probeCandidate(mem) {
		return
	}
	m.urgent = mem
}
