package core

// Idle pull backoff (Config.PullIdleMax).
//
// A pull digest repairs what push and announcements lost, so it is worth
// its frame while messages flow. In a group with nothing new it finds
// nothing: every member's digest to a random peer each PullEvery rounds is
// then the largest part of an idle member's gossip traffic (one frame a
// second, about a third of all it sends with SWIM's probes and acks), and
// each frame costs a wake-up at both ends and a packet and its
// acknowledgement on the wire.
//
// So a member whose seen-state has not changed since its last digest waits
// twice as long before the next, up to PullIdleMax pull periods; anything
// that changes what its digest would say (a message, an announcement, a
// request of its own) brings it back to every period at once. A member
// that missed a message entirely (its body and every announcement lost)
// sees no change of its own, but its neighbours, whose state did change,
// pull every period again and their digests reach it: a digest listing a
// message this member lacks (digestReveals) also brings it back to every
// period, and its next digest also goes to that peer, which holds the
// message (beside the random one: a peer claiming more in every digest
// must not become the only source of repair).

// pullIdle is the state of the idle backoff.
type pullIdle struct {
	sentVer uint64 // stateVer when the last digest went out
	backoff int    // pull periods the next digest waits while nothing changes (1: none)
	skip    int    // pull periods left to pass before the next digest
	hint    NodeID // a peer whose digest listed a message this node lacks ("": none)
}

// pullDue reports whether this pull period sends a digest, counting the
// periods the backoff skips (Stats.PullsIdle).
func (e *Engine) pullDue() bool {
	if e.cfg.PullIdleMax <= 1 {
		return true
	}
	p := &e.pullIdle
	if e.stateVer != p.sentVer || e.digestGaps || p.hint != "" || len(e.wants) > 0 {
		p.backoff, p.skip = 1, 0
		return true
	}
	if p.skip > 0 {
		p.skip--
		e.stats.PullsIdle++
		return false
	}
	return true
}

// pullSent records a digest sent: when nothing changed since the previous
// one, the next waits twice as many periods as this one did.
func (e *Engine) pullSent() {
	if e.cfg.PullIdleMax <= 1 {
		return
	}
	p := &e.pullIdle
	if e.stateVer == p.sentVer && !e.digestGaps {
		p.backoff = min(max(2*p.backoff, 2), e.cfg.PullIdleMax)
	} else {
		p.backoff = 1
	}
	p.skip = p.backoff - 1
	p.sentVer = e.stateVer
	p.hint = ""
}

// pullTarget returns the peer the next digest should go to before any
// random one: the last peer whose digest showed it holds a message this
// node lacks ("" if none).
func (e *Engine) pullTarget() NodeID {
	if e.cfg.PullIdleMax <= 1 {
		return ""
	}
	return e.pullIdle.hint
}

// notePullHint remembers from as a peer to pull from when its digest d
// lists a message this node lacks (only with the idle backoff on).
func (e *Engine) notePullHint(from NodeID, d *Digest) {
	if e.cfg.PullIdleMax <= 1 || e.pullIdle.hint != "" || from == e.cfg.ID {
		return
	}
	if e.digestReveals(d) {
		e.pullIdle.hint = from
		e.stats.PullHints++
	}
}

// digestReveals reports whether digest d lists a message this node has not
// seen: beyond an origin's contiguous prefix, among the sequence numbers it
// lists above it, or of an origin this node has no state of (and whose
// messages it did not forget: tombs). The work is bounded by the digest's
// own size (MaxDigestOrigins entries of MaxDigestAbove numbers each).
func (e *Engine) digestReveals(d *Digest) bool {
	for i := range d.Entries {
		de := &d.Entries[i]
		o := e.origins[de.Origin]
		if o == nil {
			top := de.Contiguous
			if n := len(de.Above); n > 0 {
				top = max(top, de.Above[n-1])
			}
			if ts, ok := e.tombs[de.Origin]; ok && top <= ts.contiguous {
				continue
			}
			if top > 0 {
				return true
			}
			continue
		}
		if de.Contiguous > o.contiguous {
			return true // o.contiguous+1 is one this node lacks
		}
		for _, s := range de.Above {
			if !o.hasSeen(s) {
				return true
			}
		}
	}
	return false
}
