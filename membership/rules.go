package membership

import (
	"bytes"
	"math"
	"slices"

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
//
// In authenticated mode (Config.Verifier) accusations are claims to check
// (doc.go, "Hostile members"): each must be signed by its accuser; one
// above the highest incarnation the accused has signed is dropped (about
// this member: provably forged, and its sender penalised); Lifeguard
// counts confirmations per signing accuser; and a dead record from another
// member is a signed suspicion, a verdict only once two members declared
// it or this member's own probe of the accused failed too.

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
			// conflict): outbid it, if it is ours at all.
			if !m.verifyAlive(nil, a) {
				m.penalize(from, core.OffenceBadSignature)
				return
			}
			m.refute(a.inc)
		}
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem != nil && a.inc <= mem.incarnation {
		m.stats.Stale++
		return
	}
	if !m.verifyAlive(mem, a) {
		m.penalize(from, core.OffenceBadSignature)
		return
	}
	if !m.admit(a, from) {
		return
	}
	if mem == nil && !m.keepNewcomer(a.id, from) {
		return
	}
	meta := nilIfEmpty(bytes.Clone(a.meta))
	sig := nilIfEmpty(bytes.Clone(a.sig))
	if mem == nil {
		mem = m.newMember(a.id)
		if mem == nil {
			return
		}
		m.setState(mem, StateAlive)
		mem.incarnation, mem.metaInc = a.inc, a.inc
		mem.setMeta(meta, sig)
		mem.setChain(a.chain)
		m.setLive(mem)
		// A member learned from a full-state exchange is news to this
		// member only (the peer that sent the state knows it, and so do
		// those it learned it from); re-broadcasting a whole group's state
		// on every join would flood the group. The exception is the
		// sender itself: its join is news to everyone.
		if !viaState || a.id == from {
			m.enqueue(a.id, RecAlive, appendAlive(nil, aliveOf(mem)))
			m.noteJoin(a.id)
		}
		m.emit(EventJoin, mem, from)
		return
	}
	prev := mem.state
	metaChanged := !bytes.Equal(mem.meta(), meta)
	mem.incarnation, mem.metaInc = a.inc, a.inc
	m.setState(mem, StateAlive)
	if mem.extra != nil {
		mem.extra.suspicion = nil
	}
	mem.setMeta(meta, sig)
	mem.setChain(a.chain)
	if prev != StateAlive {
		mem.since = m.tick
	}
	m.enqueueAlive(mem, prev)
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

// applySuspect applies a suspect record (it may confirm a suspicion).
func (m *Memberlist) applySuspect(a accuseMsg, from core.NodeID) {
	if m.dropStale(a, from) {
		return
	}
	if m.knownSuspicion(a) {
		// The same accuser's suspicion of the same incarnation, already
		// verified and counted, or one more accuser's once the
		// confirmations are complete: a record that changes nothing, so it
		// costs no signature check (over an overlay every member hears
		// each suspicion from several neighbours, and in a wave of them
		// every member would otherwise check every accuser's).
		m.stats.DuplicateAccusations++
		return
	}
	if !m.repeatedAccusation(a) && (!m.verifyAccusation(RecSuspect, a, from) || !m.admittedAccuser(a)) {
		return
	}
	m.accuse(a, from, true)
}

// dropStale drops (counted) an accusation older than what this member
// knows of the accused: an unknown or departed member, or one that has
// since refuted it. Such a record changes nothing whoever signed it, so it
// is dropped before its signature is checked: after each refutation every
// member goes on hearing the old suspicion from the neighbours that still
// relay it, and checking each copy cost a forming group of 200 a fifth of
// its CPU. The sender is answered with the newer alive update (correct,
// which bounds how many per tick), so that it stops relaying it; a forged
// stale record earns its sender one such answer, no more than a genuine
// one. It reports whether a was dropped.
func (m *Memberlist) dropStale(a accuseMsg, from core.NodeID) bool {
	if a.id == m.cfg.ID {
		if m.left || a.inc >= m.self.incarnation {
			return false
		}
		m.stats.Stale++
		m.correct(from, m.self)
		return true
	}
	mem := m.members.get(m.all, a.id)
	if mem != nil && mem.state.Live() && a.inc >= mem.incarnation {
		return false
	}
	if mem == nil && m.sampling() && !m.authenticated() {
		return false // a member outside the sample: a ghost (sample.go)
	}
	m.stats.Stale++
	if mem != nil && mem.state == StateAlive {
		m.correct(from, mem)
	}
	return true
}

// knownSuspicion reports whether a suspicion this member holds already
// covers a: the accused is suspect at a's incarnation and a's accuser
// already counts, or no further accuser can count (Lifeguard's
// confirmations complete, or none in use), so a would change nothing.
func (m *Memberlist) knownSuspicion(a accuseMsg) bool {
	if a.id == m.cfg.ID || a.from == m.cfg.ID {
		return false
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || mem.removed || mem.state != StateSuspect || mem.incarnation != a.inc {
		return false
	}
	s := mem.suspicion()
	return s != nil && (s.k <= 0 || len(s.confirmers)-1 >= s.k || slices.Contains(s.confirmers, a.from))
}

// accuse applies a suspicion; confirm says whether it may count as an
// independent confirmation (not when it was merely relayed in a full state).
// In authenticated mode only signed accusations are passed on.
func (m *Memberlist) accuse(a accuseMsg, from core.NodeID, confirm bool) {
	if a.id == m.cfg.ID {
		if !m.answerAccuser(a, from) {
			m.accusedSelf(a, from)
		}
		return
	}
	mem := m.accusedMember(a, from)
	if mem == nil {
		return
	}
	relay := !m.authenticated() || a.sig != nil
	if mem.state == StateSuspect {
		if a.inc > mem.incarnation {
			// A suspicion of a newer incarnation is a new suspicion: the
			// old timer (and its confirmations) belonged to the old one.
			mem.incarnation = a.inc
			mem.setSuspicion(m.newSuspicion(a))
		} else if confirm && mem.suspicion().confirm(a.from) {
			m.stats.Confirmations++
		} else {
			m.notePrivateEvidence(mem, a)
			return
		}
		m.notePrivateEvidence(mem, a)
		if relay {
			m.passOnAccusation(a)
		}
		return
	}
	young := m.cfg.NewMemberGrace > 0 && m.tick-mem.since < uint64(m.cfg.NewMemberGrace)
	m.setState(mem, StateSuspect)
	mem.incarnation = a.inc
	mem.since = m.tick
	s := m.newSuspicion(a)
	if young {
		s.youngFloor(m.cfg.NewMemberSuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval))
	}
	mem.setSuspicion(s)
	m.notePrivateEvidence(mem, a)
	m.suspects = append(m.suspects, mem)
	if relay {
		m.passOnAccusation(a)
	}
	if a.from != m.cfg.ID && !young {
		m.probeSoon(mem)
	}
	m.emit(EventSuspect, mem, from)
}

// accusedMember returns the live member an accusation a is about, or nil (counted)
// if the accusation is stale, or, in authenticated mode, above the highest
// incarnation the member has signed (an honest accuser only accuses at an
// incarnation it holds the member's signed alive for; this member may lag
// behind it, so the sender is not penalised).
func (m *Memberlist) accusedMember(a accuseMsg, from core.NodeID) *member {
	mem := m.members.get(m.all, a.id)
	if mem == nil {
		mem = m.ghost(a)
	}
	if mem == nil || !mem.state.Live() || a.inc < mem.incarnation {
		m.stats.Stale++
		if mem != nil && mem.state == StateAlive && a.inc < mem.incarnation {
			m.correct(from, mem)
		}
		return nil
	}
	if m.authenticated() && a.inc > mem.metaInc {
		m.stats.UnprovenAccusations++
		return nil
	}
	return mem
}

// notePrivateEvidence records, in authenticated mode, that this member's
// own probe of the suspect failed (an accusation by itself).
func (m *Memberlist) notePrivateEvidence(mem *member, a accuseMsg) {
	if a.from == m.cfg.ID && m.authenticated() {
		if s := mem.suspicion(); s != nil {
			s.probedDown = true
			m.ownEvidenceTimeout(s)
		}
	}
}

// applyDead applies a dead record: the member becomes a tombstone (in
// authenticated mode, once the verdict is believed: believeDead).
func (m *Memberlist) applyDead(a accuseMsg, from core.NodeID) {
	if m.dropStale(a, from) {
		return
	}
	if m.knownDeclarer(a) {
		m.stats.DuplicateAccusations++
		return
	}
	if !m.verifyAccusation(RecDead, a, from) || !m.admittedAccuser(a) {
		return
	}
	if m.declareDead(a, from) {
		m.enqueue(a.id, RecDead, appendAccuse(nil, RecDead, a))
	}
}

// declareDead applies a dead record whose signature was checked (or this
// member's own). It reports whether the record was held as a suspicion by
// a declarer new here, for the caller to pass on so that others reach the
// quorum too.
func (m *Memberlist) declareDead(a accuseMsg, from core.NodeID) (passOn bool) {
	if a.id == m.cfg.ID {
		m.accusedSelf(a, from)
		return false
	}
	mem := m.accusedMember(a, from)
	if mem == nil {
		return false
	}
	if m.authenticated() && a.from != m.cfg.ID {
		believed, newDeclarer := m.believeDead(mem, a, from)
		if !believed {
			return newDeclarer
		}
		a = m.verdictToPassOn(mem, a)
	}
	m.entomb(mem, StateDead, a.inc)
	m.passOnVerdict(a)
	m.emit(EventFail, mem, from)
	return false
}

// believeDead handles, in authenticated mode, a signed dead record about a
// live member from another member: a verdict heard second-hand from a
// single member is not enough to evict a member that may still answer this
// member's probes. The record counts as a signed suspicion by its declarer
// (starting or confirming the suspicion, so the accused hears of it and
// refutes if alive, and this member probes it soon); it is believed once
// two distinct members declared it dead, or one did and this member's own
// probe failed. It also reports whether a's declarer is new here and the
// record still held as a suspicion: the caller passes it on, so that others
// reach the quorum too.
func (m *Memberlist) believeDead(mem *member, a accuseMsg, from core.NodeID) (believed, passOn bool) {
	// A suspicion by the declarer, unsigned so that it is not relayed as a
	// suspect record (the signature is over the dead record).
	m.accuse(accuseMsg{id: a.id, inc: a.inc, from: a.from}, from, true)
	s := mem.suspicion()
	if s == nil || mem.state != StateSuspect {
		return false, false
	}
	if !slices.Contains(s.declarers, a.from) && len(s.declarers) < maxDeclarers {
		s.declarers = append(s.declarers, a.from)
		if len(s.declarers) < maxDeclarers && !s.probedDown {
			m.stats.DeadHeldAsSuspicion++
			passOn = true
		}
	}
	return len(s.declarers) >= maxDeclarers || s.probedDown, passOn
}

// knownDeclarer reports whether a, a dead record, changes nothing: its
// declarer already counts toward a suspicion of the accused at a's
// incarnation that this member does not yet believe, and this member's
// own probe has not failed since (believeDead would then believe it). Such
// a copy costs no signature check: in a wave of crashes every member hears
// each verdict from several neighbours before a second declarer's arrives.
func (m *Memberlist) knownDeclarer(a accuseMsg) bool {
	if !m.authenticated() || a.id == m.cfg.ID || a.from == m.cfg.ID {
		return false
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || mem.removed || mem.state != StateSuspect || mem.incarnation != a.inc {
		return false
	}
	s := mem.suspicion()
	return s != nil && !s.probedDown && slices.Contains(s.declarers, a.from)
}

// applyLeave applies a (verified) leave update.
func (m *Memberlist) applyLeave(l leaveMsg, from core.NodeID) {
	if l.id == m.cfg.ID {
		if !m.left && l.inc >= m.self.incarnation {
			// A leave of a previous life (or a forgery, which in
			// authenticated mode does not verify).
			if m.authenticated() && !m.verify(l.id, LeaveSigningBytes(l.id, l.inc), l.sig) {
				m.penalize(from, core.OffenceBadSignature)
				return
			}
			m.refute(l.inc)
		}
		return
	}
	mem := m.members.get(m.all, l.id)
	if mem == nil || mem.state == StateLeft || l.inc < mem.incarnation {
		m.stats.Stale++
		return
	}
	if !m.verify(l.id, LeaveSigningBytes(l.id, l.inc), l.sig) {
		m.penalize(from, core.OffenceBadSignature)
		return
	}
	sig := nilIfEmpty(bytes.Clone(l.sig))
	if mem.state == StateDead {
		// It had been declared failed before its leave arrived.
		m.setState(mem, StateLeft)
		mem.incarnation = l.inc
		mem.setSig(sig)
		mem.setChain(nil)
		m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
		return
	}
	m.entomb(mem, StateLeft, l.inc)
	mem.setSig(sig)
	mem.setChain(nil)
	m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
	m.emit(EventLeave, mem, from)
}

// accusedSelf handles a suspicion or death notice a about this member.
func (m *Memberlist) accusedSelf(a accuseMsg, from core.NodeID) {
	inc := a.inc
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
	if inc > m.self.incarnation && m.authenticated() {
		// This member never signed that incarnation, so no honest member
		// accuses it there (adapters start incarnations from a clock that
		// outruns refutations, so a previous life's are lower): forged.
		// Refuting would hand the forger our incarnation counter.
		m.stats.ForgedAccusations++
		m.penalize(from, core.OffenceForgedAccusation)
		return
	}
	m.refute(inc)
	m.adjustHealth(1) // Lifeguard: having to refute hints that we are slow
	m.correct(from, m.self)
	if m.authenticated() && a.sig != nil {
		// The accusation was wrong (this member is alive) and its accuser
		// signed it, so it is the accuser's, whoever relayed it. An honest
		// accuser makes one now and then (a lost probe); a hostile one
		// makes one per refutation it can provoke. Copies relayed later
		// are stale (below the new incarnation) and not counted again.
		m.penalize(a.from, core.OffenceRefutedAccusation)
	}
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
	f := appendAlive(core.NewFrame(nil), aliveOf(mem))
	m.send(to, f, "")
}

// refute raises this member's incarnation above inc and announces it alive.
func (m *Memberlist) refute(inc uint64) {
	s := m.self
	next := max(s.incarnation, inc)
	if next < math.MaxUint64 {
		next++ // saturating: never wraps to 0 (which everyone would drop as stale)
	}
	s.incarnation = next
	s.metaInc = s.incarnation
	m.stats.Refutations++
	if !m.extendSelfChain() {
		m.signSelfAlive()
	}
	m.enqueueSelfAlive()
}
