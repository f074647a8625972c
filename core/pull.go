package core

// Pull: the digest a node sends each pull round (what it holds) and the
// answer a peer sends back (the stored messages the digest lacks).

import "slices"

// onDigest answers a pull request with the stored messages the requester
// lacks, within one round's budget, chosen by Policy. A partial digest
// (Digest.Partial: the requester tracks more than MaxDigestOrigins origins
// and lists a rotating window of them) says nothing about the origins it
// omits, so only the listed origins are answered: answering every omitted
// origin as fully missing filled the budget with messages the requester
// had. The requester's rotation (buildDigest) covers every origin it
// tracks over ⌈origins/MaxDigestOrigins⌉ pull rounds.
//
// A peer's requests are answered at most RoundTicks+1 times a round: a
// digest costs its sender a few bytes, its answer a scan of the store and
// up to MaxRoundBytes of bodies, and the transport admits thousands of
// frames a second. An honest peer sends one a round to each of its
// PullFanout targets, or one a tick while it catches up (PullNow).
func (e *Engine) onDigest(from NodeID, d *Digest) {
	e.checkSent(from, d)
	e.notePullHint(from, d)
	if e.pullsIn == nil {
		e.pullsIn = make(map[NodeID]int)
	}
	if e.pullsIn[from] > e.cfg.RoundTicks {
		e.stats.PullsLimited++
		return
	}
	e.pullsIn[from]++
	// Index the digest by this node's origin slots once, so the scan of the
	// store below finds an entry's digest line without hashing its origin.
	byIdx := e.digestScratch[:0]
	for range e.originList {
		byIdx = append(byIdx, nil)
	}
	for i := range d.Entries {
		if o := e.origins[d.Entries[i].Origin]; o != nil && byIdx[o.idx] == nil {
			byIdx[o.idx] = &d.Entries[i]
		}
	}
	lookup := func(en *storeEntry) *DigestEntry {
		if o := en.origin; o.idx < len(e.originList) && e.originList[o.idx] == o {
			return byIdx[o.idx]
		}
		// Its origin's seen-state was evicted: search the digest.
		for i := range d.Entries {
			if d.Entries[i].Origin == en.msg.Origin {
				return &d.Entries[i]
			}
		}
		return nil
	}
	cands := e.entryScratch[:0]
	for i := len(e.storeOrder) - 1; i >= e.storeHead; i-- {
		en := e.storeOrder[i]
		if en.gone {
			continue
		}
		if e.ticks-en.recvTick < uint64(e.cfg.PullMinAge) {
			e.stats.PullTooYoung++
			continue
		}
		de := lookup(en)
		if de == nil && d.Partial {
			continue
		}
		if de != nil {
			if en.msg.Seq <= de.Contiguous {
				continue
			}
			if _, found := slices.BinarySearch(de.Above, en.msg.Seq); found {
				continue
			}
		}
		cands = append(cands, en)
	}
	sel := e.selectForPull(cands)
	for _, en := range sel {
		if e.sendBody(from, en) {
			e.stats.PullAnswered++
		}
	}
	clear(cands)
	e.entryScratch = cands[:0]
	clear(byIdx)
	e.digestScratch = byIdx[:0]
}

func (e *Engine) pullRound() {
	if !e.pullDue() {
		return
	}
	// The digest changes only when the seen-state or the pending requests
	// do; between changes every round reuses the encoded body.
	body := e.digestBody
	if body == nil || e.digestVer != e.stateVer || len(e.originList) > e.cfg.MaxDigestOrigins {
		d := e.buildDigest()
		body = appendDigestBody(nil, d)
		e.digestBody, e.digestVer, e.digestGaps = body, e.stateVer, digestHasGaps(d)
	}
	svc := e.service()
	if svc != nil {
		e.settlePullAsks()
	}
	targets := e.pickTargets(e.cfg.PullFanout, true, "", "")
	if h := e.pullTarget(); h != "" && !slices.Contains(targets, h) {
		// The peer whose digest listed a message this node lacks
		// (pull_idle.go), beside the random ones, not in place of one:
		// a peer that claims in every digest to hold more must not
		// become this node's only source of repair.
		targets = append(targets, h)
	}
	for _, t := range targets {
		f := e.frameFor(t)
		f.digest = body
		e.stats.DigestsSent++
		if svc != nil {
			e.pullAsks = append(e.pullAsks, pullAsk{to: t, gaps: e.digestGaps})
		}
	}
	e.pullSent()
}

// buildDigest summarises what this node holds, within MaxDigestOrigins entries
// and MaxDigestAbove sequence numbers each; when origins must be left out, a
// different window of them is listed each round.
func (e *Engine) buildDigest() *Digest {
	d := &Digest{}
	n := len(e.originList)
	if n == 0 {
		return d
	}
	count := n
	start := 0
	if n > e.cfg.MaxDigestOrigins {
		count, d.Partial = e.cfg.MaxDigestOrigins, true
		start = e.digestFrom % n
		e.digestFrom = (start + count) % n
	}
	// Bodies already requested with IWANT are listed as held, so that a pull
	// answer does not send a second copy of a large message on its way.
	wanted := e.wantedByOrigin()
	d.Entries = make([]DigestEntry, 0, count)
	for i := 0; i < count; i++ {
		o := e.originList[(start+i)%n]
		if e.forgottenByOthers(o) {
			continue
		}
		de := DigestEntry{Origin: o.id, Contiguous: o.contiguous}
		above := o.above
		if w := wanted[o.id]; len(w) > 0 {
			above = mergeAbove(above, w, o.contiguous)
			delete(wanted, o.id)
		}
		if len(above) > 0 {
			k := min(len(above), e.cfg.MaxDigestAbove)
			de.Above = above[:k:k]
		}
		d.Entries = append(d.Entries, de)
	}
	for _, w := range e.wantList { // origins seen only through announcements
		if seqs, ok := wanted[w.key.Origin]; ok && len(d.Entries) < e.cfg.MaxDigestOrigins {
			d.Entries = append(d.Entries, DigestEntry{Origin: w.key.Origin, Above: mergeAbove(nil, seqs, 0)})
			delete(wanted, w.key.Origin)
		}
	}
	return d
}

// forgottenByOthers reports whether o is this node's own origin, idle for
// as long as the others keep an origin's state (originHousekeeping: SeenTTL
// with nothing stored or held). The others have forgotten it, so listing it
// in a digest would show each of them a message it lacks (digestReveals)
// and keep it out of the idle pull backoff for good, for messages it could
// no longer take anyway; a new message lists it again.
func (e *Engine) forgottenByOthers(o *originState) bool {
	return o.id == e.cfg.ID && o.storedMsgs == 0 && len(o.held) == 0 &&
		e.ticks-o.lastActive >= uint64(e.cfg.SeenTTL)
}

// wantedByOrigin groups the outstanding IWANT requests by origin.
func (e *Engine) wantedByOrigin() map[NodeID][]uint64 {
	if len(e.wants) == 0 {
		return nil
	}
	m := make(map[NodeID][]uint64)
	for _, w := range e.wantList {
		if !w.done {
			m[w.key.Origin] = append(m[w.key.Origin], w.key.Seq)
		}
	}
	return m
}

// mergeAbove returns the sorted union of above and the extra sequence
// numbers greater than floor, without changing above.
func mergeAbove(above, extra []uint64, floor uint64) []uint64 {
	out := slices.Clone(above)
	for _, s := range extra {
		if s > floor {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
