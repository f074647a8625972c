package membership

import (
	"bytes"

	"github.com/grapevine-p2p/grapevine/core"
)

//
// For one member, updates take precedence by incarnation number as SWIM
// defines it (§4.2), with dead and left as terminal until a higher alive:
//
//	alive(i)   overrides alive(j), suspect(j), dead(j), left(j)  iff i > j
//	suspect(i) overrides alive(j)                                iff i ≥ j
//	           overrides suspect(j)                              iff i > j (i = j: a confirmation)
//	dead(i)    overrides alive(j), suspect(j)                    iff i ≥ j
//	left(i)    overrides alive(j), suspect(j), dead(j)           iff i ≥ j
//
// A member hearing suspect/dead(i) about itself with i ≥ its incarnation
// refutes with alive(i+1).

// applyAlive applies an alive update; viaState says it came in a full state.
func (m *Memberlist) applyAlive(a aliveMsg, from core.NodeID, viaState bool) {
	if len(a.meta) > m.cfg.MaxMetaSize {
		m.stats.MetaTooLarge++
		return
	}
	if a.id == m.cfg.ID {
		s := m.self
		if m.left {
			return
		}
		if a.inc > s.incarnation || (a.inc == s.incarnation && !bytes.Equal(a.meta, s.meta())) {
			// An alive of ours we did not send (a previous life, or a
			// conflict): outbid it.
			m.refute(a.inc)
		}
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem != nil && a.inc <= mem.incarnation {
		m.stats.Stale++
		return
	}
	if !m.verify(a.id, AliveSigningBytes(a.id, a.inc, a.meta), a.sig) {
		return
	}
	meta := nilIfEmpty(bytes.Clone(a.meta))
	sig := nilIfEmpty(bytes.Clone(a.sig))
	if mem == nil {
		mem = m.newMember(a.id)
		if mem == nil {
			return
		}
		mem.state, mem.incarnation, mem.metaInc = StateAlive, a.inc, a.inc
		mem.setMeta(meta, sig)
		m.setLive(mem)
		// A member learned from a full-state exchange is news to this
		// member only (the peer that sent the state knows it, and so do
		// those it learned it from); re-broadcasting a whole group's state
		// on every join would flood the group. The exception is the
		// sender itself: its join is news to everyone.
		if !viaState || a.id == from {
			m.enqueue(a.id, RecAlive, appendAlive(nil, aliveMsg{id: mem.id, inc: a.inc, meta: meta, sig: sig}))
		}
		m.emit(EventJoin, mem, from)
		return
	}
	prev := mem.state
	metaChanged := !bytes.Equal(mem.meta(), meta)
	mem.incarnation, mem.metaInc = a.inc, a.inc
	mem.state = StateAlive
	if mem.extra != nil {
		mem.extra.suspicion = nil
	}
	mem.setMeta(meta, sig)
	if prev != StateAlive {
		mem.since = m.tick
	}
	m.enqueue(a.id, RecAlive, appendAlive(nil, aliveMsg{id: mem.id, inc: a.inc, meta: meta, sig: sig}))
	switch prev {
	case StateSuspect:
		m.emit(EventAlive, mem, from)
		if metaChanged {
			m.emit(EventUpdate, mem, from)
		}
	case StateDead, StateLeft:
		m.setLive(mem)
		m.emit(EventRejoin, mem, from)
	default:
		if metaChanged {
			m.emit(EventUpdate, mem, from)
		}
	}
}

// applySuspect applies a suspect update (it may confirm a suspicion).
func (m *Memberlist) applySuspect(a accuseMsg, from core.NodeID) {
	m.accuse(a, from, true)
}

// accuse applies a suspicion; confirm says whether it may count as an
// independent confirmation (not when it was merely relayed in a full state).
func (m *Memberlist) accuse(a accuseMsg, from core.NodeID, confirm bool) {
	if a.id == m.cfg.ID {
		m.accusedSelf(a.inc, from)
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || !mem.state.Live() || a.inc < mem.incarnation {
		m.stats.Stale++
		if mem != nil && mem.state == StateAlive && a.inc < mem.incarnation {
			m.correct(from, mem)
		}
		return
	}
	if mem.state == StateSuspect {
		if a.inc > mem.incarnation {
			// A suspicion of a newer incarnation is a new suspicion: the
			// old timer (and its confirmations) belonged to the old one.
			mem.incarnation = a.inc
			mem.setSuspicion(m.newSuspicion(a.from))
		} else if confirm && mem.suspicion().confirm(a.from) {
			m.stats.Confirmations++
		} else {
			return
		}
		m.enqueue(a.id, RecSuspect, appendAccuse(nil, RecSuspect, a))
		return
	}
	young := m.cfg.NewMemberGrace > 0 && m.tick-mem.since < uint64(m.cfg.NewMemberGrace)
	mem.state = StateSuspect
	mem.incarnation = a.inc
	mem.since = m.tick
	s := m.newSuspicion(a.from)
	if young {
		s.youngFloor(m.cfg.NewMemberSuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval))
	}
	mem.setSuspicion(s)
	m.suspects = append(m.suspects, mem)
	m.enqueue(a.id, RecSuspect, appendAccuse(nil, RecSuspect, a))
	if a.from != m.cfg.ID && !young {
		m.probeSoon(mem)
	}
	m.emit(EventSuspect, mem, from)
}

// applyDead applies a dead update: the member becomes a tombstone.
func (m *Memberlist) applyDead(a accuseMsg, from core.NodeID) {
	if a.id == m.cfg.ID {
		m.accusedSelf(a.inc, from)
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || !mem.state.Live() || a.inc < mem.incarnation {
		m.stats.Stale++
		if mem != nil && mem.state == StateAlive && a.inc < mem.incarnation {
			m.correct(from, mem)
		}
		return
	}
	m.entomb(mem, StateDead, a.inc)
	m.enqueue(a.id, RecDead, appendAccuse(nil, RecDead, a))
	m.emit(EventFail, mem, from)
}

// applyLeave applies a (verified) leave update.
func (m *Memberlist) applyLeave(l leaveMsg, from core.NodeID) {
	if l.id == m.cfg.ID {
		if !m.left && l.inc >= m.self.incarnation {
			m.refute(l.inc) // a leave of a previous life (or a forgery)
		}
		return
	}
	mem := m.members.get(m.all, l.id)
	if mem == nil || mem.state == StateLeft || l.inc < mem.incarnation {
		m.stats.Stale++
		return
	}
	if !m.verify(l.id, LeaveSigningBytes(l.id, l.inc), l.sig) {
		return
	}
	sig := nilIfEmpty(bytes.Clone(l.sig))
	if mem.state == StateDead {
		// It had been declared failed before its leave arrived.
		mem.state, mem.incarnation = StateLeft, l.inc
		mem.setSig(sig)
		m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
		return
	}
	m.entomb(mem, StateLeft, l.inc)
	mem.setSig(sig)
	m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
	m.emit(EventLeave, mem, from)
}

// accusedSelf handles a suspicion or death notice about this member.
func (m *Memberlist) accusedSelf(inc uint64, from core.NodeID) {
	if m.left {
		// Departed: repeat the leave instead of refuting.
		s := m.self
		m.enqueue(s.id, RecLeave, appendLeave(nil, leaveMsg{id: s.id, inc: s.incarnation, sig: s.sig()}))
		return
	}
	if inc < m.self.incarnation {
		m.stats.Stale++
		m.correct(from, m.self)
		return
	}
	m.refute(inc)
	m.adjustHealth(1) // Lifeguard: having to refute hints that we are slow
	m.correct(from, m.self)
}

// correct answers a peer that relayed an accusation older than what this
// member knows (the member, or this member itself, has since refuted it)
// with the newer alive update, directly. Gossip reaches each member only
// with high probability; a member that missed a refutation keeps relaying
// the stale suspicion, and this answer repairs it long before its
// suspicion timer could expire. At most CorrectionsPerTick per tick.
func (m *Memberlist) correct(to core.NodeID, mem *member) {
	if !m.cfg.Repair || to == "" || to == m.cfg.ID || m.left {
		return
	}
	if m.corrections >= m.cfg.CorrectionsPerTick {
		m.stats.CorrectionsDropped++
		return
	}
	m.corrections++
	m.stats.Corrections++
	f := appendAlive(core.NewFrame(nil), aliveMsg{id: mem.id, inc: mem.incarnation, meta: mem.meta(), sig: mem.sig()})
	m.send(to, f, "")
}

// refute raises this member's incarnation above inc and announces it alive.
func (m *Memberlist) refute(inc uint64) {
	s := m.self
	s.incarnation = max(s.incarnation, inc) + 1
	s.metaInc = s.incarnation
	m.stats.Refutations++
	m.signSelfAlive()
	m.enqueueSelfAlive()
}
