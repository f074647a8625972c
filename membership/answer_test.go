package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// answerCluster is localCluster (an authenticated ring overlay with
// LocalAccusations) with AnswerAccusers as given, reporting penalties.
func answerCluster(t *testing.T, n int, seed uint64, answer bool) (*cluster, penalties) {
	pen := penalties{}
	c, _ := localCluster(t, n, seed, true, func(i int, cfg *Config) {
		cfg.AnswerAccusers = answer
		cfg.Penalizer = pen.recorder()
	})
	return c, pen
}

// suspectOwn has member i suspect member v as its failed probe would.
func (c *cluster) suspectOwn(i, v int) {
	m := c.nodes[i]
	m.applySuspect(m.ownAccusation(RecSuspect, m.members.get(m.all, nodeID(v))), "")
}

// updatesSent sums the members' UpdatesSent.
func (c *cluster) updatesSent() (n uint64) {
	for _, m := range c.nodes {
		n += m.Stats().UpdatesSent
	}
	return n
}

// suspicionEvents counts the members other than observer that emitted a
// suspicion of id since event index since.
func (c *cluster) suspicionEvents(id core.NodeID, observer, since int) int {
	n := 0
	for k := since; k < len(c.events); k++ {
		if e := c.events[k]; e.Kind == EventSuspect && e.Member.ID == id && c.evNode[k] != observer {
			n++
		}
	}
	return n
}

// TestAnswerAccusersFalseSuspicion: a member suspects a live neighbour
// that its probe missed. With AnswerAccusers the suspect answers it alone:
// its incarnation stays, the accuser holds it alive again within a round
// trip, and no member sends a single update for it; without, the suspect
// refutes to the group, which passes the new incarnation on to everyone.
func TestAnswerAccusersFalseSuspicion(t *testing.T) {
	const n, accuser, suspect = 40, 0, 5 // ring neighbours
	for _, answer := range []bool{false, true} {
		c, pen := answerCluster(t, n, 3, answer)
		c.run(50)
		inc, updates, events := c.nodes[suspect].Incarnation(), c.updatesSent(), len(c.events)
		c.suspectOwn(accuser, suspect)
		c.run(100)
		mem, _ := c.nodes[accuser].Member(nodeID(suspect))
		if mem.State != StateAlive {
			t.Fatalf("answer=%v: the accuser holds the suspect %v", answer, mem.State)
		}
		sent := c.updatesSent() - updates
		incNow := c.nodes[suspect].Incarnation()
		st, acc := c.nodes[suspect].Stats(), c.nodes[accuser].Stats()
		t.Logf("answer=%v: incarnation %d -> %d, updates sent %d, answers sent %d, accepted %d", answer, inc, incNow, sent, st.AnswersSent, acc.AnswersAccepted)
		if answer {
			if incNow != inc || sent != 0 || st.AnswersSent != 1 || acc.AnswersAccepted != 1 || st.Refutations != 0 {
				t.Errorf("answered: incarnation %d -> %d, %d updates sent, %d answers, %d accepted, %d refutations; want unchanged, 0, 1, 1, 0",
					inc, incNow, sent, st.AnswersSent, acc.AnswersAccepted, st.Refutations)
			}
		} else if incNow != inc+1 || sent < n {
			t.Errorf("refuted: incarnation %d -> %d, %d updates sent; want +1 and at least %d", inc, incNow, sent, n)
		}
		if k := c.suspicionEvents(nodeID(suspect), accuser, events); k != 0 {
			t.Errorf("answer=%v: %d other members suspected the suspect", answer, k)
		}
		if got := pen[nodeID(accuser)][core.OffenceRefutedAccusation]; got != 1 {
			t.Errorf("answer=%v: the accuser was penalised %d times, want once", answer, got)
		}
		c.noHonestDeath(t)
	}
}

// TestAnswerLostRefutes: the suspect's answers never reach the accuser (the
// link between them fails one way). The accuser's first reminder comes a
// probe timeout later (not half the suspicion timeout later), and the
// suspect answers again; at the second it refutes to the group instead,
// and the accuser learns the new incarnation from the others before its
// suspicion would have expired: no member declares it dead.
func TestAnswerLostRefutes(t *testing.T) {
	const n, accuser, suspect = 40, 0, 5
	c, _ := answerCluster(t, n, 4, true)
	c.run(50)
	inc := c.nodes[suspect].Incarnation()
	c.cut = func(from, to int) bool { return from == suspect && to == accuser }
	c.suspectOwn(accuser, suspect)
	a := c.nodes[accuser]
	sp := a.members.get(a.all, nodeID(suspect)).suspicion()
	due := a.cfg.ProbeTimeout + int(a.remindEvery(sp))
	if ticks := c.runUntil(100, "the suspect refutes", func() bool { return c.nodes[suspect].Incarnation() > inc }); ticks > due+2 {
		t.Errorf("the suspect refuted %d ticks after the suspicion; want by the second reminder (%d) and a tick or two", ticks, due)
	}
	c.runUntil(100, "the accuser holds the refutation", func() bool {
		mem, _ := c.nodes[accuser].Member(nodeID(suspect))
		return mem.State == StateAlive && mem.Incarnation == inc+1
	})
	st := c.nodes[suspect].Stats()
	if st.AnswersSent != 2 || st.AnswersFellBack != 1 || st.Refutations != 1 {
		t.Errorf("%d answers, %d fell back, %d refutations; want 2, 1, 1", st.AnswersSent, st.AnswersFellBack, st.Refutations)
	}
	c.cut = nil
	c.run(50)
	c.noHonestDeath(t)
}

// TestAttackAnswerRepeatedAccusation: a member sends its own signed
// suspicion of another, again and again, straight to it. The accused checks
// the signature once and answers twice; the third copy, compared and not
// checked, has it refute to the group, after which every copy is stale and
// dropped unchecked. A copy relayed by a third member is never answered
// (the answer could not reach its accuser as proof): the accused refutes.
func TestAttackAnswerRepeatedAccusation(t *testing.T) {
	const n, attacker, victim = 40, 11, 13
	c, pen := answerCluster(t, n, 5, true)
	c.run(50)
	v := c.nodes[victim]
	inc := v.Incarnation()
	rec := accusation(RecSuspect, nodeID(victim), inc, nodeID(attacker), nodeID(attacker))
	checks := v.Stats().SignaturesChecked
	for k := 0; k < 5; k++ {
		c.queue = append(c.queue, packet{from: attacker, to: victim, frame: rec})
		c.run(1)
	}
	st := v.Stats()
	if got := st.SignaturesChecked - checks; got != 1 {
		t.Errorf("five copies of one accusation: %d signature checks, want 1", got)
	}
	if st.AnswersSent != maxAnswersPerAccuser || st.Refutations != 1 || v.Incarnation() != inc+1 {
		t.Errorf("%d answers, %d refutations, incarnation %d -> %d; want %d, 1, +1", st.AnswersSent, st.Refutations, inc, v.Incarnation(), maxAnswersPerAccuser)
	}
	if got := pen[nodeID(attacker)][core.OffenceRefutedAccusation]; got != 2 {
		t.Errorf("the accuser was penalised %d times, want twice (the answer, the refutation)", got)
	}

	// Relayed: member 20 passes on member 21's accusation.
	c.run(50)
	inc = v.Incarnation()
	answers := v.Stats().AnswersSent
	relayed := accusation(RecSuspect, nodeID(victim), inc, nodeID(21), nodeID(21))
	c.queue = append(c.queue, packet{from: 20, to: victim, frame: relayed})
	c.run(1)
	if v.Stats().AnswersSent != answers || v.Incarnation() != inc+1 {
		t.Errorf("a relayed accusation: %d answers (was %d), incarnation %d -> %d; want none and a refutation",
			v.Stats().AnswersSent, answers, inc, v.Incarnation())
	}
	c.run(100)
	c.noHonestDeath(t)
}

// TestAttackForgedAnswer: the suspect has crashed, and another member
// answers in its name. The answer counts only from the suspect's own
// connection: the accuser ignores it (counted), and so an answer from the
// suspect at an incarnation other than the one suspected; the accuser
// declares the crashed member dead as it would have.
func TestAttackForgedAnswer(t *testing.T) {
	const n, accuser, suspect, forger = 40, 0, 5, 9
	c, _ := answerCluster(t, n, 6, true)
	c.run(50)
	inc := c.nodes[suspect].Incarnation()
	c.down[suspect] = true
	c.suspectOwn(accuser, suspect)
	a := c.nodes[accuser]
	a.Step(nodeID(forger), decodeFrame(t, appendAnswer(core.NewFrame(nil), answerMsg{id: nodeID(suspect), inc: inc})))
	a.Step(nodeID(suspect), decodeFrame(t, appendAnswer(core.NewFrame(nil), answerMsg{id: nodeID(suspect), inc: inc + 1})))
	if st := a.Stats(); st.AnswersRefused != 1 || st.AnswersStale != 1 || st.AnswersAccepted != 0 {
		t.Fatalf("answers refused %d, stale %d, accepted %d; want 1, 1, 0", st.AnswersRefused, st.AnswersStale, st.AnswersAccepted)
	}
	c.runUntil(300, "the accuser declares the suspect dead", func() bool {
		mem, _ := a.Member(nodeID(suspect))
		return mem.State == StateDead
	})
}

// TestAnswerStateHidesSuspicion: with AnswerAccusers a member's full state
// shows a member it suspects as alive, at the incarnation of its signed
// alive update, so that the members it exchanges states with do not take
// up a suspicion the accused answers to the accuser alone.
func TestAnswerStateHidesSuspicion(t *testing.T) {
	const n, accuser, suspect, peer = 40, 0, 5, 20
	for _, answer := range []bool{false, true} {
		c, _ := answerCluster(t, n, 7, answer)
		c.run(50)
		c.down[suspect] = true // no answer, no refutation
		c.suspectOwn(accuser, suspect)
		m := c.nodes[accuser]
		mem := m.members.get(m.all, nodeID(suspect))
		e := m.entryFor(mem)
		events := len(c.events)
		m.sendState(nodeID(peer), 0)
		c.run(1)
		heard := c.suspicionEvents(nodeID(suspect), accuser, events)
		if answer && (e.state != StateAlive || e.inc != mem.metaInc || heard != 0) {
			t.Errorf("answering: the state entry is %v at %d (signed alive at %d), %d members took up the suspicion; want alive, none",
				e.state, e.inc, mem.metaInc, heard)
		}
		if !answer && (e.state != StateSuspect || heard != 1) {
			t.Errorf("not answering: the state entry is %v, %d members took up the suspicion; want suspect, 1", e.state, heard)
		}
	}
}

// TestAnswerWire: an answer decodes to what was encoded; a truncated one
// or one with trailing bytes does not.
func TestAnswerWire(t *testing.T) {
	lim := DefaultLimits()
	body := recordBody(appendAnswer(nil, answerMsg{id: "m", inc: 300}))
	if got, err := decodeAnswer(body, &lim); err != nil || got != (answerMsg{id: "m", inc: 300}) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if _, err := decodeAnswer(body[:len(body)-1], &lim); err == nil {
		t.Error("decoded a truncated answer")
	}
	if _, err := decodeAnswer(append(body, 0), &lim); err == nil {
		t.Error("decoded an answer with a trailing byte")
	}
}

func decodeFrame(t *testing.T, b []byte) *core.Frame {
	t.Helper()
	f, err := core.DecodeFrame(b, core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return f
}
