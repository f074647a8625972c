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
// it began if no answer came (expectAnswer), and then every third of the
// minimum timeout, with RecRemind: the suspect record, and the ticks its
// timer has left. The accused answers a reminder again (the answer, or the
// suspicion, went missing, or merely waits in the queues of a crowded
// host), unless the accuser's timer has lastCall or less left: then it
// refutes to the group, whose many paths are surer than an answer's one,
// while there is still time for the refutation to reach the accuser. A
// member that runs behind holds its suspicions longer (Lifeguard's health
// multiplier stretches the timer up to AwarenessMaxMultiplier times the
// minimum), so an answer waiting in its queues is answered again, not
// refuted to everyone. Before reminders carried the time left, the accused
// refuted at the second reminder (or a third copy) whatever the timer: in
// the crash window of N = 1,000 on two crowded cores, 114 refutations,
// which sent 464,846 updates (docs/benchmarks/ladder.md, session 36). When a
// later failed probe shrinks the accuser's timer (its health recovered),
// the timer keeps at least lastCall from then (ownEvidenceTimeout) and the
// accuser reminds at once, so the accused still sees its last call.
//
// A suspicion that comes as a suspect record, not as a reminder, is a new
// one: the accuser's probe failed again after an answer ended its last
// suspicion (on a crowded host the same slow neighbours accuse the same
// members again and again). The accused answers it as the first, up to
// maxSuspicionsAnswered suspicions of one accuser at one incarnation.
//
// A refutation to the group also remains the answer to a suspicion
// relayed by another member, to a verdict (dead record), to more accusers
// than maxAnswered at one incarnation, and beyond CorrectionsPerTick
// answers in a tick unless the accuser's next reminder may wait for one
// (answerLater). An accuser whose verdict is out already takes no
// answer either: the verdict reaches the accused, which refutes it.
//
// What a hostile member gets from it: its accusation costs the accused one
// signature check (a copy with the same signature is compared, not
// checked), a penalty and at most maxSuspicionsAnswered·maxAnswersPerAccuser
// small frames, each sent for one of its own; then a refutation to the
// group, as any accusation did before, which makes every further copy
// stale (dropped unchecked). Whether a copy is a reminder, and the time
// left it claims, are its sender's word, unsigned: a false one only
// chooses which of those limits the accuser reaches first (a reminder
// that claims no time left, after an answer, has the accused refute at
// the accuser's second frame; it took three before). A forged answer is
// not possible: it counts only from the suspect's own connection.

// RecAnswer: the answering member's ID and its incarnation.
const RecAnswer uint8 = 0x51

// RecRemind: an accuser's reminder of its suspicion, sent to the suspect
// (Config.AnswerAccusers): uvarint ticks the accuser's timer has left,
// then a suspect record's body, signature included.
const RecRemind uint8 = 0x52

// maxAnswered bounds the accusers a member answers at one incarnation,
// maxSuspicionsAnswered the suspicions of one of them, and
// maxAnswersPerAccuser the answers to one suspicion: beyond, it refutes to
// the group instead. Twelve answers cover the reminders of a timer four
// times the minimum (one every third of the minimum timeout).
const (
	maxAnswered           = 32
	maxSuspicionsAnswered = 4
	maxAnswersPerAccuser  = 12
)

// answeredAccuser is an accuser answered at the current incarnation.
type answeredAccuser struct {
	from       core.NodeID
	sig        []byte // its accusation's signature, checked once
	answers    int    // answers to its current suspicion
	suspicions int    // its suspicions answered
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

func appendRemind(dst []byte, a accuseMsg, left uint64) []byte {
	body := binary.AppendUvarint(nil, left)
	return core.AppendRecord(dst, RecRemind, appendAccuseBody(body, a))
}

func decodeRemind(b []byte, lim *Limits) (accuseMsg, error) {
	r := wire.NewReader(b)
	left := r.Uvarint()
	a, err := readAccuse(r, lim, "reminder")
	a.reminder, a.left = true, left
	return a, err
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
	if over := m.answerLimit(e, a); over != nil {
		m.stats.AnswersFellBack++
		*over++
		return false
	}
	switch {
	case e == nil:
		m.answered = append(m.answered, answeredAccuser{from: a.from, sig: bytes.Clone(a.sig), suspicions: 1})
		e = &m.answered[len(m.answered)-1]
		m.adjustHealth(1) // Lifeguard: being suspected hints that we are slow
		if m.authenticated() && a.sig != nil {
			m.penalize(a.from, core.OffenceRefutedAccusation) // once per accuser and incarnation
		}
	case !a.reminder:
		// A new suspicion by an accuser answered before: its probe failed
		// again after the answer ended the last one.
		e.suspicions++
		e.answers = 0
		m.stats.AnswersResuspected++
	}
	if m.answersSent >= m.cfg.CorrectionsPerTick {
		if m.answerLater(a) {
			m.stats.AnswersDeferred++
			return true
		}
		m.stats.AnswersFellBack++
		m.stats.AnswersFellBackBudget++
		return false
	}
	e.answers++
	m.answersSent++
	m.stats.AnswersSent++
	m.send(a.from, appendAnswer(core.NewFrame(nil), answerMsg{id: m.cfg.ID, inc: m.self.incarnation}), "")
	return true
}

// answerLimit returns the counter of the limit that keeps this member
// from answering a, whose accuser's record is e (nil: not answered
// before), or nil if none does.
func (m *Memberlist) answerLimit(e *answeredAccuser, a accuseMsg) *uint64 {
	switch {
	case e != nil && !a.reminder && e.suspicions >= maxSuspicionsAnswered:
		return &m.stats.AnswersFellBackReaccused
	case e != nil && a.reminder && e.answers >= maxAnswersPerAccuser:
		return &m.stats.AnswersFellBackRepeated
	case e != nil && a.reminder && a.left <= m.lastCall():
		return &m.stats.AnswersFellBackLate
	case e == nil && len(m.answered) >= maxAnswered:
		return &m.stats.AnswersFellBackCrowd
	}
	return nil
}

// answerLater reports whether a, a suspicion this member has no answer
// left for in this tick (CorrectionsPerTick), may wait for the accuser's
// next reminder instead of a refutation to the group: the accuser is a
// neighbour (it reminds only neighbours, mayRemind), and a is not a
// reminder at its last call. Its entry is kept, so the reminder's
// signature is compared, not checked again. On a crowded host the frames
// of several ticks are handled in one, and in the crash window of
// N = 1,000 this limit had made every one of 7 and 17 refutations
// (docs/benchmarks/ladder.md, session 36).
func (m *Memberlist) answerLater(a accuseMsg) bool {
	return m.cfg.Neighbors != nil && m.cfg.Neighbors.IsNeighbor(a.from) && !(a.reminder && a.left <= m.lastCall())
}

// lastCall is the time left on an accuser's timer below which a reminder
// that comes after an answer has this member refute to the group: the gap
// between reminders (a third of the minimum timeout, remindEvery: the
// accuser's next one would come too late) and a protocol period for the
// refutation to reach the accuser.
func (m *Memberlist) lastCall() uint64 {
	lo := m.cfg.SuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval)
	return uint64(lo/3) + uint64(max(m.cfg.ProbeInterval, 1))
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
