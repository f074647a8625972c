package membership

// NextDue: how long an owner may leave the member list without a Tick.
//
// An adapter that drives many member lists in one process (package p2p,
// one driver goroutine a peer) wakes each one every tick, although in a
// settled group most ticks do nothing a peer can see: at 1,000 peers
// those wake-ups were about a fifth of an idle group's CPU. With NextDue
// the driver sleeps through the quiet ticks and, when it wakes (for the
// due tick or for any input), first runs every tick it skipped, in order,
// before it hands the member list anything else. The state is then
// exactly what it would have been had every tick run on time; only the
// outputs of skipped ticks would come late, so NextDue accounts for the
// ticks that may produce output (a frame to the Transport, an event, a
// call into the Signer or another hook) and lets housekeeping without
// output fall into quiet ticks.
//
// What Tick does, and when each part may next produce output:
//
//   - reap (tombstones older than TombstoneTicks are forgotten: no event,
//     no frame) and trimSample (a sampled list forgets surplus members:
//     no event, no frame; it reads Neighbors and draws from the RNG, which
//     the skipped ticks still do in order): housekeeping, never due.
//   - askUnknownNeighbors (sampled lists over an overlay): at every
//     multiple of ProbeInterval it may ask a neighbour it does not hold
//     for its state. Which neighbours are unknown depends on the
//     overlay, which NextDue does not consult: due at the next multiple.
//   - checkSuspects: a suspicion's expiry declares the member dead (an
//     event, a verdict queued or signed); a reminder (Config.Repair) goes
//     to the suspect at remindAt. Both are due at their tick; a reminder
//     past due that the budget or the overlay held back may go at any
//     later tick (due at once). A verdict held back by lag (lag.go) is
//     counted as due all the same: early, never late.
//   - askVerdicts (Config.AskVerdicts): a suspicion not backed by this
//     member's own probe, with fewer than two declarers, asks a neighbour
//     at its askAt (or verdictAskDelay periods after it started). Whether
//     the suspect is a neighbour (then it never asks) is the overlay's to
//     say, so it counts as due regardless.
//   - checkRelays: a relay's nack goes at its nackAt; a relay that expires
//     is dropped silently (not due).
//   - checkProbe (not after Leave): the probe's timeout sends the fallback
//     ping and the ping-reqs, and the end of its period suspects the
//     target (an event, an accusation); a probe whose target was heard
//     from since the ping (Config.HeardAnswersProbe) ends silently at the
//     timeout. The next probe is due at nextProbe, which already holds
//     Lifeguard's health multiplier (it may find no target and send
//     nothing: early).
//   - retryJoin (while joining, no seed's state yet), pushPull, joinSync
//     (follow-ups left) and reconnect (a tombstone to try): due at their
//     scheduled tick. Without a tombstone now, reconnect has nobody to
//     try; a tombstone is made in a quiet tick only by a declaration,
//     which is itself due, and NextDue is asked again after it.
//   - the gossip round (every GossipInterval): reliable links' expiry is
//     housekeeping; flushVerdicts signs pending verdicts (the Signer) and
//     gossip sends only when the queue holds updates. So it is due at
//     nextGossip when an update or a verdict is pending, and not at all
//     otherwise: an update is queued in a quiet tick only by a step that
//     is itself due (a declaration, a failed probe). Without
//     GossipInterval, pending verdicts are signed at the next tick.
//
// Everything else that sends (acks, answers, corrections, state replies,
// self-announcements, piggybacked updates) answers an input or another
// layer's call, after which the owner asks again.

// nextDueNone is what NextDue returns when nothing at all is scheduled
// (the caller caps it).
const nextDueNone = 1 << 20

// NextDue reports how many ticks may pass before the member list next
// acts on its own: d >= 1 means that if no input arrives (no Step, Join,
// Leave, SetMeta or any other method call that changes state), the next
// d-1 calls of Tick send no frame, emit no event and call no configured
// hook; the d-th may. 1 means the next Tick may act. The answer may be
// early (smaller than the truth), never late.
//
// It changes nothing, allocates nothing, and costs time in the pending
// suspicions and relays only (never in the number of members).
func (m *Memberlist) NextDue() int {
	now := m.tick
	soonest := now + 1
	due := now + nextDueNone
	at := func(t uint64) {
		if t < due {
			due = max(t, soonest)
		}
	}

	// Suspicions: expiry, reminders, asks for verdicts.
	if len(m.suspects) > 0 {
		asks := m.cfg.AskVerdicts && m.localAccusations()
		for _, s := range m.suspects {
			if due == soonest {
				break
			}
			sp := s.suspicion()
			if s.removed || sp == nil || s.state != StateSuspect {
				continue // dropped silently at the next tick
			}
			at(sp.deadline)
			if sp.remindAt != 0 && m.cfg.CorrectionsPerTick > 0 {
				at(sp.remindAt)
			}
			if asks && !sp.probedDown && len(sp.declarers) < maxDeclarers && sp.asks < maxVerdictAsks {
				ask := sp.askAt
				if ask == 0 {
					ask = sp.start + uint64(verdictAskDelay*max(m.cfg.ProbeInterval, 1))
				}
				at(ask)
			}
		}
	}

	// Relays: the nacks still to send.
	for i := range m.relays {
		if due == soonest {
			break
		}
		if r := &m.relays[i]; r.nackAt != 0 {
			at(r.nackAt)
		}
	}

	if !m.left {
		// The probe under way: its timeout, or the end of its period
		// (startProbe sets endAt and nextProbe alike; both are named
		// here, so that neither can be late should they ever differ).
		if p := &m.probe; p.active && !m.heardSincePing() {
			if !p.indirect {
				at(p.timeoutAt)
			} else {
				at(p.endAt)
			}
		}
		at(m.nextProbe)
		if m.joining && !m.seedHeard {
			at(m.nextJoin)
		}
		if m.cfg.PushPullInterval > 0 {
			at(m.nextPushPull)
		}
		if m.nextSync != 0 && m.syncsLeft > 0 {
			at(m.nextSync)
		}
		if m.cfg.ReconnectInterval > 0 && len(m.tombs) > m.tombHead {
			at(m.nextReconnect)
		}
		if m.sampling() && m.cfg.Neighbors != nil {
			pi := uint64(m.cfg.ProbeInterval)
			at((now/pi + 1) * pi) // askUnknownNeighbors
		}
	}

	// Dissemination: the next gossip round, if there is anything to send.
	if m.queue.len() > 0 || len(m.pendingVerdicts) > 0 {
		if m.cfg.GossipInterval > 0 {
			at(m.nextGossip)
		} else if len(m.pendingVerdicts) > 0 {
			at(soonest)
		}
	}

	return int(due - now)
}
