package overlay

import "github.com/grapevine-p2p/grapevine/core"

// SHUFFLE keeps the passive view fresh and mixed (HyParView §4.4): every
// ShuffleTicks a node sends itself, ka active and kp passive entries on a
// random walk of ShuffleTTL hops; where the walk ends the receiver answers
// straight to the origin with as many of its passive entries, and both
// merge what they got into their passive views, evicting first what they
// sent.

func (o *Overlay) shuffleLen() int { return 1 + o.cfg.ShuffleActive + o.cfg.ShufflePassive }

// startShuffle sends a new SHUFFLE; an unanswered earlier one is forgotten
// (its late reply is dropped as stale).
func (o *Overlay) startShuffle() {
	if len(o.active) == 0 {
		return
	}
	to := o.randomActive("", "")
	list := make([]core.NodeID, 0, o.shuffleLen())
	list = append(list, o.self)
	list = o.sampleActiveExcept(list, o.cfg.ShuffleActive, to)
	list = o.samplePassive(list, o.cfg.ShufflePassive)
	nonce := o.rng.Uint64() | 1 // never 0, which means "none outstanding"
	o.shuf = shuffleState{nonce: nonce, at: o.now, sent: append(o.shuf.sent[:0], list[1:]...)}
	o.stats.ShufflesSent++
	ttl := o.cfg.ShuffleTTL
	o.emit(to, func(b []byte) []byte { return appendShuffle(b, nonce, o.self, ttl, list) })
}

// shuffleSoon brings the next SHUFFLE forward (to RequestTimeout ticks
// after the last one) when the passive view has run out of candidates.
func (o *Overlay) shuffleSoon() {
	if len(o.active) == 0 {
		return
	}
	at := max(o.now+1, o.shuf.at+int64(o.cfg.RequestTimeout))
	if at < o.nextShuffle {
		o.nextShuffle = at
	}
}

// sampleActiveExcept samples k active entries other than not (the
// shuffle's first hop already knows itself).
func (o *Overlay) sampleActiveExcept(dst []core.NodeID, k int, not core.NodeID) []core.NodeID {
	start := len(dst)
	dst = o.sampleActive(dst, k+1)
	out := dst[:start]
	for _, id := range dst[start:] {
		if id != not && len(out)-start < k {
			out = append(out, id)
		}
	}
	return out
}

// onShuffle: one step of a shuffle's walk, or its end.
func (o *Overlay) onShuffle(from core.NodeID, m *msg) {
	if !o.walkAllowed(from) {
		return
	}
	if m.id == o.self {
		o.stats.SelfDropped++ // our own walk came back
		return
	}
	list := m.ids
	if max := o.shuffleLen(); len(list) > max {
		o.stats.ListTruncated++
		list = list[:max]
	}
	ttl := o.clampTTL(m.ttl, o.cfg.ShuffleTTL)
	if ttl > 0 {
		ttl--
	}
	if ttl > 0 && len(o.active) > 1 {
		if next := o.randomActive(from, m.id); next != "" {
			origin, nonce := m.id, m.nonce
			o.emit(next, func(b []byte) []byte { return appendShuffle(b, nonce, origin, ttl, list) })
			return
		}
	}
	// The walk ends here: answer the origin directly (it need not be a
	// neighbour, unless ShuffleReplyToNeighbors), then merge.
	if o.cfg.ShuffleReplyToNeighbors && o.activeIndex(m.id) < 0 {
		o.stats.ShuffleRepliesSkipped++
		o.merge(list, nil)
		o.addPassive(m.id, nil)
		return
	}
	o.stats.ShufflesAnswered++
	answer := o.samplePassive(make([]core.NodeID, 0, len(list)), len(list))
	nonce := m.nonce
	o.emit(m.id, func(b []byte) []byte { return appendShuffleReply(b, nonce, answer) })
	sent := answer
	o.merge(list, &sent)
	o.addPassive(m.id, &sent)
}

// onShuffleReply merges the answer to this node's outstanding SHUFFLE;
// anything else (late, forged, repeated) is dropped.
func (o *Overlay) onShuffleReply(from core.NodeID, m *msg) {
	if o.shuf.nonce == 0 || m.nonce != o.shuf.nonce {
		o.stats.ShuffleStale++
		return
	}
	o.shuf.nonce = 0
	list := m.ids
	if max := o.shuffleLen(); len(list) > max {
		o.stats.ListTruncated++
		list = list[:max]
	}
	o.merge(list, &o.shuf.sent)
	o.addPassive(from, &o.shuf.sent)
}

// merge adds every entry of list to the passive view (self, neighbours and
// duplicates are skipped).
func (o *Overlay) merge(list []core.NodeID, preferEvict *[]core.NodeID) {
	for _, id := range list {
		o.addPassive(id, preferEvict)
	}
}
