package membership

import (
	"math"
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

// TestAnswerResuspicion: an accuser whose suspicion the suspect's answer
// ended suspects it again later (its probe failed again, as on a host that
// runs behind). The new suspicion is answered as the first was: no
// refutation, no update sent, the accuser holds the suspect alive again.
// Had it been taken for a late reminder, the suspect would have refuted to
// the group. After maxSuspicionsAnswered suspicions at one incarnation the
// next is refuted to the group.
func TestAnswerResuspicion(t *testing.T) {
	const n, accuser, suspect = 40, 0, 5
	c, _ := answerCluster(t, n, 7, true)
	c.run(50)
	inc, updates := c.nodes[suspect].Incarnation(), c.updatesSent()
	alive := func() bool {
		mem, _ := c.nodes[accuser].Member(nodeID(suspect))
		return mem.State == StateAlive
	}
	for k := 1; k <= maxSuspicionsAnswered; k++ {
		c.suspectOwn(accuser, suspect)
		c.runUntil(20, "the accuser holds the suspect alive", alive)
		c.run(30)
		st := c.nodes[suspect].Stats()
		if st.Refutations != 0 || st.AnswersResuspected != uint64(k-1) || c.updatesSent() != updates {
			t.Fatalf("suspicion %d: %d refutations, %d new suspicions answered, %d updates sent; want 0, %d, 0",
				k, st.Refutations, st.AnswersResuspected, c.updatesSent()-updates, k-1)
		}
	}
	c.suspectOwn(accuser, suspect)
	c.run(30)
	st := c.nodes[suspect].Stats()
	if st.Refutations != 1 || st.AnswersFellBackReaccused != 1 || c.nodes[suspect].Incarnation() != inc+1 {
		t.Errorf("suspicion %d: %d refutations, %d fell back as reaccused, incarnation %d -> %d; want 1, 1, +1",
			maxSuspicionsAnswered+1, st.Refutations, st.AnswersFellBackReaccused, inc, c.nodes[suspect].Incarnation())
	}
	c.run(50)
	c.noHonestDeath(t)
}

// TestAnswerRemindersCarryTimeLeft: an accuser that runs behind (its
// health multiplier at 4) holds its suspicion up to four times the
// minimum, and the suspect's answers never reach it. Each reminder says how
// long the accuser's timer has left: the suspect answers those with time to
// spare (an answer may merely wait in a slow accuser's queues), where it
// used to refute to the group at the second reminder, and refutes to the
// group once the timer nears its end, early enough that the accuser learns
// of it before the timer runs out. The accuser's health recovers as it
// probes others, and a later failed probe of the suspect shrinks its
// timer, but never to less than a last call.
func TestAnswerRemindersCarryTimeLeft(t *testing.T) {
	const n, accuser, suspect = 40, 0, 5
	c, _ := answerCluster(t, n, 8, true)
	c.run(50)
	inc := c.nodes[suspect].Incarnation()
	c.cut = func(from, to int) bool { return from == suspect && to == accuser }
	a := c.nodes[accuser]
	a.health = 3
	c.suspectOwn(accuser, suspect)
	sp := a.members.get(a.all, nodeID(suspect)).suspicion()
	timeout := int(sp.deadline - sp.start)
	if want := int(4 * sp.min); timeout < want-1 || timeout > want+1 {
		t.Fatalf("the suspicion's timer is %d ticks; want about %d (4 times the minimum)", timeout, want)
	}
	ticks := c.runUntil(timeout, "the suspect refutes", func() bool { return c.nodes[suspect].Incarnation() > inc })
	if old := a.cfg.ProbeTimeout + int(a.remindEvery(sp)); ticks <= old+2 {
		t.Errorf("the suspect refuted %d ticks into the suspicion; want later than the second reminder (%d)", ticks, old)
	}
	st := c.nodes[suspect].Stats()
	if st.AnswersSent < 4 || st.AnswersFellBack != 1 {
		t.Errorf("%d answers, %d fell back; want at least 4 and 1", st.AnswersSent, st.AnswersFellBack)
	}
	c.runUntil(timeout, "the accuser holds the refutation", func() bool {
		mem, _ := c.nodes[accuser].Member(nodeID(suspect))
		return mem.State == StateAlive && mem.Incarnation == inc+1
	})
	c.cut = nil
	c.run(50)
	c.noHonestDeath(t)
}

// TestAnswerDeferredOverBudget: a suspect with no answer left in its tick
// (CorrectionsPerTick, here 0 for it) leaves a neighbour's suspicion to
// the accuser's next reminder instead of refuting to the group at once,
// and refutes only at the accuser's last call. A suspicion from a member
// that is not a neighbour (it sends no reminders) is refuted at once.
func TestAnswerDeferredOverBudget(t *testing.T) {
	const n, suspect = 40, 5
	for _, tc := range []struct {
		accuser  int
		deferred bool
	}{{0, true}, {20, false}} {
		c, _ := answerCluster(t, n, 9, true)
		c.nodes[suspect].cfg.CorrectionsPerTick = 0
		c.run(50)
		inc := c.nodes[suspect].Incarnation()
		c.suspectOwn(tc.accuser, suspect)
		a := c.nodes[tc.accuser]
		sp := a.members.get(a.all, nodeID(suspect)).suspicion()
		timeout := int(sp.deadline - sp.start)
		ticks := c.runUntil(timeout, "the suspect refutes", func() bool { return c.nodes[suspect].Incarnation() > inc })
		st := c.nodes[suspect].Stats()
		if tc.deferred {
			if last := timeout - int(c.nodes[suspect].lastCall()); ticks < last-1 || st.AnswersDeferred < 2 || st.AnswersFellBackLate != 1 {
				t.Errorf("a neighbour's suspicion: refuted after %d ticks (last call %d), %d deferred, %d fell back as late; want at the last call, at least 2, 1",
					ticks, last, st.AnswersDeferred, st.AnswersFellBackLate)
			}
		} else if ticks > 2 || st.AnswersDeferred != 0 || st.AnswersFellBackBudget != 1 {
			t.Errorf("another member's suspicion: refuted after %d ticks, %d deferred, %d fell back over the budget; want at once, 0, 1",
				ticks, st.AnswersDeferred, st.AnswersFellBackBudget)
		}
		if st.AnswersSent != 0 {
			t.Errorf("accuser %d: %d answers sent with no answer in the budget", tc.accuser, st.AnswersSent)
		}
		c.run(100)
		c.noHonestDeath(t)
	}
}

// TestAttackAnswerRepeatedAccusation: a member sends its own signed
// suspicion of another, again and again, straight to it. The accused checks
// the signature once. Copies sent as new suspicions are answered up to
// maxSuspicionsAnswered times, copies sent as reminders up to
// maxAnswersPerAccuser times (once, if they claim the accuser's timer has
// no time left: that buys the attacker nothing it would not get anyway);
// the next copy, compared and not checked, has
// it refute to the group, after which every copy is stale and dropped
// unchecked. A copy relayed by a third member is never answered (the
// answer could not reach its accuser as proof): the accused refutes.
func TestAttackAnswerRepeatedAccusation(t *testing.T) {
	const n, attacker, victim = 40, 11, 13
	for _, tc := range []struct {
		typ     uint8
		left    uint64 // a reminder's claimed time left
		answers uint64
	}{
		{RecSuspect, 0, maxSuspicionsAnswered},
		{RecRemind, math.MaxUint64, maxAnswersPerAccuser},
		{RecRemind, 0, 1}, // claims no time left: one answer, then the refutation it would get anyway
	} {
		c, pen := answerCluster(t, n, 5, true)
		c.run(50)
		v := c.nodes[victim]
		inc := v.Incarnation()
		rec := accusation(RecSuspect, nodeID(victim), inc, nodeID(attacker), nodeID(attacker))
		if tc.typ == RecRemind {
			a := accuseMsg{id: nodeID(victim), inc: inc, from: nodeID(attacker),
				sig: testSig(nodeID(attacker), AccuseSigningBytes(RecSuspect, nodeID(victim), inc, nodeID(attacker)))}
			rec = appendRemind(core.NewFrame(nil), a, tc.left)
		}
		checks := v.Stats().SignaturesChecked
		for k := 0; k < 14; k++ {
			c.queue = append(c.queue, packet{from: attacker, to: victim, frame: rec})
			c.run(1)
		}
		st := v.Stats()
		if got := st.SignaturesChecked - checks; got != 1 {
			t.Errorf("type %#x, left %d: fourteen copies of one accusation: %d signature checks, want 1", tc.typ, tc.left, got)
		}
		if st.AnswersSent != tc.answers || st.Refutations != 1 || v.Incarnation() != inc+1 {
			t.Errorf("type %#x, left %d: %d answers, %d refutations, incarnation %d -> %d; want %d, 1, +1", tc.typ, tc.left, st.AnswersSent, st.Refutations, inc, v.Incarnation(), tc.answers)
		}
		if got := pen[nodeID(attacker)][core.OffenceRefutedAccusation]; got != 2 {
			t.Errorf("type %#x: the accuser was penalised %d times, want twice (the answer, the refutation)", tc.typ, got)
		}
		if tc.typ == RecSuspect {
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
		}
		c.run(100)
		c.noHonestDeath(t)
	}
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
