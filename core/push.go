package core

// Push: eager push on first receipt, the per-round push of hot messages,
// and the choice of messages (Policy, round budget) and targets.

import "sort"

// eagerPush forwards a newly accepted message to Fanout targets at once
// (announcing it beyond LazyBodyFanout if it is lazy).
func (e *Engine) eagerPush(en *storeEntry, from NodeID) {
	targets := e.pickTargets(e.cfg.Fanout, true, from, en.msg.Origin)
	for i, t := range targets {
		if en.lazy && i >= e.cfg.LazyBodyFanout {
			e.sendIHave(t, en.msg.Key())
		} else {
			e.sendBody(t, en)
		}
	}
}

// pushRound sends the round's selection of hot messages to Fanout targets
// and retires the messages whose rounds are spent.
func (e *Engine) pushRound() {
	live := e.hot[:0]
	for _, en := range e.hot {
		if en.gone || en.roundsLeft <= 0 {
			en.inHot = false
			continue
		}
		live = append(live, en)
	}
	clear(e.hot[len(live):])
	e.hot = live
	if len(live) == 0 {
		return
	}
	cands := append(e.entryScratch[:0], live...)
	sel := e.selectForRound(cands)
	if e.plumQuiet() {
		// Under Plumtree without loss seen lately, first receipt's
		// announcements suffice (Config.PlumRoundsAfterLoss); the round
		// still counts against each message's rounds.
		e.plum.stats.QuietRounds++
	} else {
		targets := e.pickTargets(e.cfg.Fanout, e.cfg.DistinctTargets, "", "")
		for _, t := range targets {
			for _, en := range sel {
				if en.lazy {
					e.sendIHave(t, en.msg.Key())
				} else {
					e.sendBody(t, en)
				}
			}
		}
	}
	for _, en := range sel {
		en.roundsLeft--
	}
	clear(cands)
	e.entryScratch = cands[:0]
}

// selectForRound orders cands by Policy and returns the prefix that fits one
// round's budget (MaxRoundMessages, MaxRoundBytes of payload). It reorders
// cands.
func (e *Engine) selectForRound(cands []*storeEntry) []*storeEntry {
	switch e.cfg.Policy {
	case Random:
		if len(cands) > e.cfg.MaxRoundMessages {
			// Partial Fisher-Yates: a uniform random prefix.
			for i := 0; i < e.cfg.MaxRoundMessages; i++ {
				j := i + e.rng.IntN(len(cands)-i)
				cands[i], cands[j] = cands[j], cands[i]
			}
		} else {
			e.rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		}
	case Recent:
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].recvTick > cands[j].recvTick })
	case Priority:
		sort.SliceStable(cands, func(i, j int) bool {
			a, b := cands[i], cands[j]
			if a.msg.Priority != b.msg.Priority {
				return a.msg.Priority > b.msg.Priority
			}
			return a.recvTick > b.recvTick
		})
	}
	return e.roundBudget(cands)
}

// roundBudget returns the prefix of cands that fits one round's budget:
// at most MaxRoundMessages messages and MaxRoundBytes of payload (the first
// message always fits).
func (e *Engine) roundBudget(cands []*storeEntry) []*storeEntry {
	n, bytes := 0, 0
	for n < len(cands) && n < e.cfg.MaxRoundMessages {
		p := len(cands[n].msg.Payload)
		if n > 0 && bytes+p > e.cfg.MaxRoundBytes {
			break
		}
		bytes += p
		n++
	}
	return cands[:n]
}

// pickTargets returns k targets: distinct when distinct is set, else k
// independent draws. Peers equal to skip1 or skip2 are left out (the sender
// of what is being forwarded and its origin), so fewer than k may come back.
//
// With a ServiceScore, members scored unserving are passed over while
// others are available: 2k+2 distinct peers are sampled (with one pull
// target and two thirds of the group unserving, a sample of two holds a
// serving member about half the time, one of four four times in five) and
// the serving ones come first; an independent draw that hits an unserving
// member is drawn once more.
func (e *Engine) pickTargets(k int, distinct bool, skip1, skip2 NodeID) []NodeID {
	svc := e.service()
	t := e.targets[:0]
	if distinct {
		draw := k
		if svc != nil {
			draw = 2*k + 2
		}
		t = e.cfg.Sampler.Sample(t, draw)
	} else {
		for i := 0; i < k; i++ {
			t = e.cfg.Sampler.Sample(t, 1)
			if svc != nil && len(t) > 0 && svc.Unserving(t[len(t)-1]) {
				t = e.cfg.Sampler.Sample(t[:len(t)-1], 1)
				e.svcStats.TargetsSkipped++
			}
		}
	}
	out := t[:0]
	for _, id := range t {
		if id == e.cfg.ID || (skip1 != "" && id == skip1) || (skip2 != "" && id == skip2) {
			continue
		}
		out = append(out, id)
	}
	if svc != nil && distinct && len(out) > k {
		good := e.preferServing(svc, out)
		if bad := len(out) - good; bad > 0 {
			e.svcStats.TargetsSkipped += uint64(bad - max(0, k-good))
		}
		out = out[:k]
	}
	e.targets = t[:0]
	return out
}
