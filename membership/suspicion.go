package membership

import (
	"math"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// suspicion is Lifeguard's dynamic suspicion timer: it starts at max and
// shrinks toward min as up to k independent members confirm the suspicion.
type suspicion struct {
	start, deadline uint64
	min, max        float64 // ticks
	k               int
	confirmers      []core.NodeID // the accuser first
	remindAt        uint64        // next reminder to the suspect (0: none)

	// Authenticated mode (Config.Verifier):
	accuserSig []byte        // the first accuser's signature, for reminders
	declarers  []core.NodeID // distinct members whose signed dead record was heard
	probedDown bool          // this member's own probe of the suspect failed
	askAt      uint64        // when to ask a neighbour again for its verdict (0: not asked yet; verdict_pull.go)
	asks       int           // asks made
}

// maxDeclarers bounds suspicion.declarers: two are enough for a verdict.
const maxDeclarers = 2

// timeout is the current timeout in ticks, shrunk by the confirmations.
func (s *suspicion) timeout() float64 {
	c := len(s.confirmers) - 1
	if s.k <= 0 {
		return s.min
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(s.k)+1)
	return math.Max(s.min, s.max-(s.max-s.min)*frac)
}

// reset recomputes the deadline from the current timeout.
func (s *suspicion) reset() { s.deadline = s.start + uint64(math.Ceil(s.timeout())) }

// youngFloor raises the minimum timeout to at least lo, keeping the ratio
// of maximum to minimum (Config.NewMemberGrace).
func (s *suspicion) youngFloor(lo float64) {
	if lo <= s.min {
		return
	}
	s.max *= lo / s.min
	s.min = lo
	s.reset()
}

// confirm records an independent suspicion by from; false if it adds nothing.
func (s *suspicion) confirm(from core.NodeID) bool {
	if s.k <= 0 || len(s.confirmers)-1 >= s.k || slices.Contains(s.confirmers, from) {
		return false
	}
	s.confirmers = append(s.confirmers, from)
	s.reset()
	return true
}

// checkSuspects declares dead the suspects whose timer expired and sends
// the reminders that are due (Config.Repair).
func (m *Memberlist) checkSuspects() {
	if len(m.suspects) == 0 {
		return
	}
	keep := m.suspects[:0]
	var due []*member
	for _, s := range m.suspects {
		sp := s.suspicion()
		if s.removed || sp == nil || s.state != StateSuspect {
			continue
		}
		if m.tick >= sp.deadline {
			if !m.verdictHeld() {
				due = append(due, s)
				continue
			}
			m.stats.VerdictsHeld++ // its refutation may still be queued here (lag.go)
		}
		if r := sp.remindAt; r != 0 && m.tick >= r && m.reminders < m.cfg.CorrectionsPerTick && m.mayRemind(s) {
			// Still suspect after half the minimum timeout: tell the suspect
			// directly. If it is alive and refuted long ago (this member
			// missed the refutation), it answers with its alive at once.
			m.reminders++
			m.stats.Reminders++
			sp.remindAt = m.tick + m.remindEvery(sp)
			a := accuseMsg{id: s.id, inc: s.incarnation, from: sp.confirmers[0], sig: sp.accuserSig}
			if m.authenticated() && (a.sig == nil || (m.answersAccusers() && a.from != m.cfg.ID)) {
				// The suspicion came unsigned (from a full state), or from
				// another accuser, whose copy the suspect would refute to
				// the group rather than answer here (answer.go): the
				// reminder is this member's own, signed.
				a = m.ownAccusation(RecSuspect, s)
			}
			f := core.NewFrame(nil)
			if m.answersAccusers() {
				// The suspect tells it from a new suspicion, and sees how
				// long the timer has left (answer.go).
				f = appendRemind(f, a, sp.deadline-min(sp.deadline, m.tick))
			} else {
				f = appendAccuse(f, RecSuspect, a)
			}
			m.send(s.id, f, s.id)
		}
		keep = append(keep, s)
	}
	clear(m.suspects[len(keep):])
	m.suspects = keep
	for _, s := range due {
		m.stats.Declared++
		m.applyDead(m.ownVerdict(s), "")
	}
}

// newSuspicion starts a suspicion timer for accusation a.
func (m *Memberlist) newSuspicion(a accuseMsg) *suspicion {
	n := m.Size()
	lo := m.cfg.SuspicionMult * logN(n) * float64(m.cfg.ProbeInterval)
	s := &suspicion{start: m.tick, min: lo, max: lo, confirmers: []core.NodeID{a.from}}
	if m.authenticated() {
		s.accuserSig = a.sig
	}
	if m.cfg.Lifeguard {
		s.max = lo * m.cfg.SuspicionMaxTimeoutMult
		// Only n-2 members besides the accuser and the suspect can confirm.
		s.k = min(m.cfg.SuspicionConfirmations, max(n-2, 0))
	}
	s.reset()
	if m.cfg.Repair {
		s.remindAt = m.tick + m.remindEvery(s)
	}
	return s
}

// mayRemind reports whether this member reminds suspect s of its
// suspicion directly: always without an overlay (every member is then
// connected to every other), only when s is a neighbour with one. Every
// member that holds a suspicion sends its reminder at about the same time,
// and over an overlay each would be a new connection to the suspect, a
// peer that may be suspected for being overloaded already: n handshakes
// at it at once (at n = 150 on one machine, the storm that turned a few
// slow peers into a group that never formed). Its neighbours still remind
// it; a member that missed its refutation declares it dead, which it
// refutes again, and that refutation reaches everyone.
func (m *Memberlist) mayRemind(s *member) bool {
	return m.cfg.Neighbors == nil || m.cfg.Neighbors.IsNeighbor(s.id)
}

// remindEvery is the gap between reminders to a suspect: half the minimum
// timeout, a third with AnswerAccusers. There a reminder asks for an
// answer that a lost frame may have kept from the accuser, and a timer at
// the minimum takes three of them, not two, before it runs out: at 10 %
// frame loss one suspicion in about 770, not one in 150, loses the
// accusation's round trip and every reminder's (each fails with
// probability 1 − 0.9²).
func (m *Memberlist) remindEvery(s *suspicion) uint64 {
	if m.answersAccusers() {
		return max(1, uint64(s.min/3))
	}
	return max(1, uint64(s.min/2))
}
