package membership

import "github.com/grapevine-p2p/grapevine/core"

// Accusations kept near the accused (Config.LocalAccusations: with
// Config.Neighbors and a Verifier).
//
// In authenticated mode every suspicion, each of Lifeguard's
// confirmations, and the two verdicts a member needs before it believes a
// death are signed, and every member that hears one checks its
// signature. Spread to the whole group, a crash therefore costs each
// member a check of the first suspicion, of up to
// SuspicionConfirmations confirmations and of two verdicts: on the
// simulator at n = 1,000 with 100 members crashed at once, 5.7 checks per
// survivor per victim, half a million Ed25519 verifications in seven
// seconds, more than two cores do (testnet/cmd/stackexp -auth). A false
// suspicion costs the group the same and a refutation besides.
//
// Over an overlay only a few members act on a suspicion: the accused,
// which refutes it if it is alive, and its neighbours, the members that
// probe it. The rest need only the outcome. So with LocalAccusations:
//
//   - a suspicion goes to the accused alone, directly (and again with the
//     reminders while the accused is a neighbour), not into the gossip
//     queue: a member's own, and one heard from another member, which is
//     checked and acted on (timer, probe) but passed to the accused alone;
//   - a suspicion backed by this member's own failed probe waits only the
//     minimum timeout (SuspicionMult·log₁₀ n periods), times Lifeguard's
//     local health multiplier, which rises while this member's probes go
//     unanswered or it runs behind.
//     Lifeguard lets an unconfirmed suspicion wait up to
//     SuspicionMaxTimeoutMult times the minimum in case the accuser is the
//     slow one; here confirmations no longer travel, and what guards
//     against a slow or lying accuser is the verdict rule: a member
//     believes a death only once two members declared it, or one did and
//     its own probe failed too (believeDead). Each neighbour of a crashed
//     member probes it within a few periods (silent.go) and declares it on
//     its own evidence;
//   - a member that believes a death passes on its own signed verdict,
//     not the record that convinced it (verdictToPassOn);
//   - refutations and every other update spread as before.
//
// What each survivor checks for a crash falls to the two verdicts (one
// when its own probe failed), and a false suspicion costs the group only
// the refutation. A hostile member gains nothing: its suspicion reaches
// the accused alone, which refutes it and penalises the accuser; its lone
// verdict is a suspicion everywhere, as before.

// localAccusations reports whether accusations stay near the accused.
func (m *Memberlist) localAccusations() bool {
	return m.cfg.LocalAccusations && m.cfg.Neighbors != nil && m.authenticated()
}

// passOnAccusation passes on a, an accusation of a suspect that this
// member holds: to the gossip queue, or with LocalAccusations to the
// accused alone, directly, so that it refutes if it is alive. Others'
// suspicions reach a member this way only from a member that does not
// keep them local, or from a hostile one; forwarded to the accused, they
// cannot sit unseen at members the accused never talks to until their
// timers declare it dead.
func (m *Memberlist) passOnAccusation(a accuseMsg) {
	if !m.localAccusations() {
		m.enqueue(a.id, RecSuspect, appendAccuse(nil, RecSuspect, a))
		return
	}
	if a.from != m.cfg.ID {
		m.stats.AccusationsKept++
	}
	m.send(a.id, appendAccuse(core.NewFrame(nil), RecSuspect, a), a.id)
}

// ownEvidenceTimeout shortens, with LocalAccusations, the timer of a
// suspicion that this member's own probe backs to the minimum times
// Lifeguard's local health multiplier (the minimum while this member is
// healthy; up to Lifeguard's maximum while its probes go unanswered or it
// runs behind, when they say less about others), or ends it now when
// another member's verdict is already held: with this member's failed
// probe that verdict is believed (believeDead's rule), and this member
// declares at the next tick. On two crowded cores at N = 1,000 with a
// tenth crashed, runs with the plain minimum declared 117 to 1,070 live
// members' failures, the two runs with the multiplier none, and one with the
// multiplier only after lag 882; on the simulator at 2 % loss the
// multiplier stretches detection from 7.6–9.6 s to 10–14 s
// (docs/benchmarks/ladder.md, session 31).
func (m *Memberlist) ownEvidenceTimeout(s *suspicion) {
	if !m.localAccusations() {
		return
	}
	if len(s.declarers) > 0 {
		s.deadline = min(s.deadline, m.tick)
		return
	}
	if t := s.min * float64(m.healthMultiplier()); s.max > t {
		before := s.deadline
		s.max = t
		s.reset()
		if m.answersAccusers() && s.remindAt != 0 {
			// The suspect's answers to reminders that showed the longer
			// timer may still be on their way: leave it a last call.
			s.deadline = min(before, max(s.deadline, m.tick+m.lastCall()))
		}
	}
	m.expectAnswer(s)
}

// verdictToPassOn returns the dead record to pass on for mem, whose death
// this member now believes on the strength of a, another member's
// verdict. With LocalAccusations it is this member's own signed verdict.
// The members it passes it to need two declarers, and every believer
// would otherwise pass on one of the few records the declarers signed:
// a crash's neighbours, which all probed it, would each pass on the
// first declarer's alone, and where a wave of crashes fills the update
// queues a member can go on hearing that one record from every
// neighbour, waiting out Lifeguard's longest timeout for a second. With
// each believer's own, any two of a member's neighbours settle it.
// Believing took two declarers or this member's own failed probe, so a
// lone hostile verdict still makes no honest member declare.
func (m *Memberlist) verdictToPassOn(mem *member, a accuseMsg) accuseMsg {
	if !m.localAccusations() {
		return a
	}
	m.stats.VerdictsSigned++
	return m.ownVerdict(mem)
}
