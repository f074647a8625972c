package membership

import (
	"bytes"
	"encoding/binary"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// Suspicions answered to the accuser alone (Config.AnswerAccusers, with
// Config.LocalAccusations).
//
// With LocalAccusations a suspicion goes to the accused alone, and only
// its accusers (the neighbours whose probes failed) time it out. Yet the
// accused refuted it by raising its incarnation, an update every member
// then passes on RetransmitMult·⌈log₁₀(n+1)⌉ times: at n = 1,000 about
// 16,000 sends for one refutation (on the simulator at 2 % frame loss, 8
// refutations in 10 idle seconds were 127,000 of the updates sent). On
// crowded hosts false suspicions come from load, and their refutations'
// traffic was more load (docs/benchmarks/ladder.md, session 33).
//
// So a member that receives a suspicion of itself at its current
// incarnation directly from its accuser (the frame's sender is the
// accuser, over the sender's authenticated connection) answers that
// accuser alone, directly, with RecAnswer (its ID and incarnation), and
// keeps its incarnation. The accuser, on an answer that arrives directly
// from the suspect while it holds the suspect at that incarnation and has
// heard no one's verdict, ends its suspicion: the member is alive, and no
// one else needs to know, since no one else was told. What the answer
// proves is that its sender is alive after the accusation reached it, as
// any frame over its authenticated connection would (Config.HeardAnswersProbe);
// it carries no signature.
//
// The accuser reminds the accused of its suspicion a probe timeout after
// it began if no answer came (expectAnswer), and then every half minimum
// timeout. The accused answers a reminder that comes within a protocol
// period of its last answer to that accuser once more (the answer, or the
// suspicion, went missing, or is merely slow on a crowded host); a later
// one, or a third, it refutes to the group, whose many paths are surer
// than an answer's one.
//
// A refutation to the group also remains the answer to a suspicion
// relayed by another member, to a verdict (dead record), to more accusers
// than maxAnswered at one incarnation, and beyond CorrectionsPerTick
// answers in a tick. An accuser whose verdict is out already takes no
// answer either: the verdict reaches the accused, which refutes it.
//
// What a hostile member gets from it: its accusation costs the accused one
// signature check (a copy with the same signature is compared, not
// checked), a penalty and at most maxAnswersPerAccuser small frames; then
// a refutation to the group, as any accusation did before, which makes
// every further copy stale (dropped unchecked). A forged answer is not
// possible: it counts only from the suspect's own connection.

// RecAnswer: the answering member's ID and its incarnation.
const RecAnswer uint8 = 0x51

// maxAnswered bounds the accusers a member answers at one incarnation,
// and maxAnswersPerAccuser the answers to one of them: beyond, it refutes
// to the group instead.
const (
	maxAnswered          = 32
	maxAnswersPerAccuser = 2
)

// answeredAccuser is an accuser answered at the current incarnation.
type answeredAccuser struct {
	from    core.NodeID
	sig     []byte // its accusation's signature, checked once
	at      uint64 // the tick of the last answer
	answers int
}

type answerMsg struct {
	id  core.NodeID
	inc uint64
}

func appendAnswer(dst []byte, a answerMsg) []byte {
	body := wire.AppendString(nil, string(a.id))
	body = binary.AppendUvarint(body, a.inc)
	return core.AppendRecord(dst, RecAnswer, body)
}

func decodeAnswer(b []byte, lim *Limits) (answerMsg, error) {
	r := wire.NewReader(b)
	a := answerMsg{id: core.NodeID(r.ID(lim.MaxIDLen)), inc: r.Uvarint()}
	r.End("answer")
	return a, wrap("answer", r.Err())
}

// answersAccusers reports whether this member answers accusers directly.
func (m *Memberlist) answersAccusers() bool {
	return m.cfg.AnswerAccusers && m.localAccusations()
}

// answeredBefore returns the record of a's accuser if this member
// answered it at its current incarnation.
func (m *Memberlist) answeredBefore(a accuseMsg) *answeredAccuser {
	if m.answeredInc != m.self.incarnation {
		return nil
	}
	for i := range m.answered {
		if m.answered[i].from == a.from {
			return &m.answered[i]
		}
	}
	return nil
}

// repeatedAccusation reports whether a, a suspicion of this member, is a
// copy of one already checked and answered at this incarnation: the same
// accuser and signature. Its signature needs no second check.
func (m *Memberlist) repeatedAccusation(a accuseMsg) bool {
	if a.id != m.cfg.ID || a.sig == nil {
		return false
	}
	e := m.answeredBefore(a)
	return e != nil && bytes.Equal(e.sig, a.sig)
}

// answerAccuser answers a, a checked suspicion of this member at its
// current incarnation, to its accuser alone if that is enough (see the
// top of this file), and reports whether it did. If not, the caller
// refutes to the group.
func (m *Memberlist) answerAccuser(a accuseMsg, from core.NodeID) bool {
	if !m.answersAccusers() || m.left || from != a.from || a.inc != m.self.incarnation {
		return false
	}
	if m.answeredInc != m.self.incarnation {
		m.answered, m.answeredInc = m.answered[:0], m.self.incarnation
	}
	e := m.answeredBefore(a)
	switch {
	case e != nil && (e.answers >= maxAnswersPerAccuser || m.tick > e.at+uint64(max(m.cfg.ProbeInterval, 1))),
		e == nil && len(m.answered) >= maxAnswered,
		m.answersSent >= m.cfg.CorrectionsPerTick:
		m.stats.AnswersFellBack++
		return false
	case e == nil:
		m.answered = append(m.answered, answeredAccuser{from: a.from, sig: bytes.Clone(a.sig)})
		e = &m.answered[len(m.answered)-1]
		m.adjustHealth(1) // Lifeguard: being suspected hints that we are slow
		if m.authenticated() && a.sig != nil {
			m.penalize(a.from, core.OffenceRefutedAccusation) // once per accuser and incarnation
		}
	}
	e.answers++
	e.at = m.tick
	m.answersSent++
	m.stats.AnswersSent++
	m.send(a.from, appendAnswer(core.NewFrame(nil), answerMsg{id: m.cfg.ID, inc: m.self.incarnation}), "")
	return true
}

// expectAnswer brings the first reminder of s, a suspicion this member's
// own failed probe backs, forward to ProbeTimeout ticks after it started:
// an answer normally arrives within a round trip, and if the suspicion or
// the answer went missing, the reminder has the suspect answer (or, if it
// answered already, refute to the group) with most of the timeout left.
func (m *Memberlist) expectAnswer(s *suspicion) {
	if !m.answersAccusers() || s.remindAt == 0 {
		return
	}
	s.remindAt = min(s.remindAt, s.start+uint64(max(m.cfg.ProbeTimeout, 1)))
}

// applyAnswer ends this member's suspicion of a.id at a.inc if the answer
// came from the suspect itself and no verdict on it is held.
func (m *Memberlist) applyAnswer(a answerMsg, from core.NodeID) {
	if !m.localAccusations() || from != a.id {
		m.stats.AnswersRefused++
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || mem.removed || mem.state != StateSuspect || mem.incarnation != a.inc {
		m.stats.AnswersStale++
		return
	}
	if s := mem.suspicion(); s == nil || len(s.declarers) > 0 {
		m.stats.AnswersStale++
		return
	}
	m.setState(mem, StateAlive)
	mem.setSuspicion(nil)
	mem.since = m.tick
	m.stats.AnswersAccepted++
	m.emit(EventAlive, mem, from)
}

// entryFor is mem as an entry of this member's full state. With
// AnswerAccusers a suspicion stays between the accuser and the accused
// here too: the entry of a suspect says alive, at the incarnation its
// alive update was signed for. A member that learned a suspicion from a
// state exchange would otherwise hold it unanswered (the accused answers
// its accusers alone) and, not a neighbour, declare the member dead when
// Lifeguard's longest timeout ran out: on the simulator at n = 1,000 and
// 2 % loss, one member's suspicion spread by the exchanges of a forming
// group made 165 false failures 27 s later (seed 2).
func (m *Memberlist) entryFor(mem *member) stateEntry {
	e := entryOf(mem)
	if e.state == StateSuspect && m.answersAccusers() {
		e.state, e.inc = StateAlive, e.metaInc
	}
	return e
}
