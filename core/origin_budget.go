package core

// The per-peer budget of new origins (Config.NewOriginBurst,
// Config.NewOriginsPerRound). An origin is new to a node once, whoever
// brings its first message, so over any window all peers together
// introduce at most as many origins as there are publishers; a single peer
// introducing thousands in a burst is inventing them (each invented origin
// costs an honest node an origin slot and, once the table is full, evicts
// an honest origin to a tombstone). Over its budget a peer's messages of
// new origins are dropped before their signature is checked (counted in
// Stats.OriginsOverBudget, the message is repaired from other peers if it
// is genuine) and the peer is reported with OffenceFlood. A peer's own
// messages (origin = sender) never count.
//
// Off by default, and not turned on by package p2p: honest members relay
// the messages of the origins they accepted, so k attacker hosts each
// spending a full budget on one honest member A make A relay k budgets'
// worth of origins new to member B, and B would penalize A (k = 2
// suffices). The budget is sound as a throttle between members that do not
// relay for strangers; as a penalty it needs attribution to the peer that
// first introduced an origin, which a relay cannot prove. Without it an
// origin flood still cannot break exactly-once delivery (evicted origins
// leave watermark tombstones; seen.go) and state stays bounded.
// Package p2p penalises an origin flood by default another way: messages
// of origins that are not members are held, not taken in, and a sender
// whose own view did not know the origin is charged (unknown_origin.go,
// p2p/origins.go).

// maxBudgetPeers bounds the peers whose budget is tracked; beyond it a
// peer not tracked is not charged (fail open: the origin table's own bound
// still holds) until full buckets are forgotten at the next round.
const maxBudgetPeers = 4096

// originBudget is one peer's token bucket of new origins.
type originBudget struct {
	tokens int
	round  uint64 // e.rounds when tokens was last brought up to date
}

// refill brings b up to date at round now.
func (b *originBudget) refill(now uint64, burst, perRound int) {
	if now > b.round {
		add := (now - b.round) * uint64(perRound)
		if add >= uint64(burst-b.tokens) {
			b.tokens = burst
		} else {
			b.tokens += int(add)
		}
		b.round = now
	}
}

// newOriginAllowed charges from one new origin and reports whether its
// budget allowed it.
func (e *Engine) newOriginAllowed(from NodeID) bool {
	burst := e.cfg.NewOriginBurst
	if burst <= 0 {
		return true
	}
	b := e.originBudgets[from]
	if b == nil {
		if len(e.originBudgets) >= maxBudgetPeers {
			return true
		}
		if e.originBudgets == nil {
			e.originBudgets = make(map[NodeID]*originBudget)
		}
		b = &originBudget{tokens: burst, round: e.rounds}
		e.originBudgets[from] = b
	}
	b.refill(e.rounds, burst, e.cfg.NewOriginsPerRound)
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}

// forgetFullBudgets drops the buckets that are full again (once a round):
// a peer that introduced nothing for a while is indistinguishable from
// one never seen.
func (e *Engine) forgetFullBudgets() {
	for id, b := range e.originBudgets {
		b.refill(e.rounds, e.cfg.NewOriginBurst, e.cfg.NewOriginsPerRound)
		if b.tokens >= e.cfg.NewOriginBurst {
			delete(e.originBudgets, id)
		}
	}
}
