package core

import "slices"

// Service: steering gossip around members that take it and serve none.
//
// A member can stay in the group (it answers membership probes) and accept
// gossip streams without ever reading them: it swallows the tree bodies it
// heads, the announcements and pull digests it is sent, and answers none of
// them. The transport notices only once the stream's flow-control window is
// full (Reachability). Meanwhile the engine learns it from the requests it
// makes: an IWANT to an announcer that brings no body before IWantTimeout
// (a broken promise, GossipSub v1.1's P7), a pull digest that listed
// missing messages and drew no body by the next pull round) and from what
// the member says of itself: its pull digest lacks a body this node sent it
// a while before (it took the body and never read it). A Transport
// that implements ServiceScore turns these reports into a decaying
// per-peer score (p2p/service.go) and answers Unserving; the engine then
// prefers other members as IWANT and pull targets, announcement targets
// and tree-push children while others are available. A member stays a
// member whatever its score: an overloaded honest one also stops reading
// for a while, and it is chosen again once its score recovers.

// ServiceScore may be implemented by a Transport besides Reachability.
// Its methods are called synchronously from inside Step, Tick and Publish
// and must not call back into the engine.
type ServiceScore interface {
	// Unserving reports whether id has lately failed to serve what it was
	// asked for: the engine chooses another member in its place when one
	// is available.
	Unserving(id NodeID) bool
	// Unserved reports that id did not serve a request: an IWANT to it
	// expired unanswered, a pull digest to it listed missing messages and
	// no body came back from it by the next pull round, or its own digest
	// lacks a body sent to it at least IWantTimeout+RoundTicks ticks
	// before.
	Unserved(id NodeID)
	// Served reports that id served: it sent a body this node did not
	// have yet, or its digest showed it had read a body sent to it.
	Served(id NodeID)
}

// ServiceStats count how the engine routed around unserving members
// (ServiceScore); kept apart from Stats, as PlumStats are, so that runs
// without a ServiceScore print and hash exactly what they did before.
type ServiceStats struct {
	Unserved          uint64 // requests reported unserved (IWANTs expired, pull digests unanswered, bodies sent and never read)
	UnreadBodies      uint64 // of those, bodies a member's digest said it lacked well after they were sent to it
	SentMarksDropped  uint64 // bodies sent whose reading was no longer checked (the table of marks was full)
	TreeSkipped       uint64 // tree-push chunk heads passed over for a serving member of the chunk
	TreeFallback      uint64 // tree-push chunks whose members were all unserving: sent to the first anyway
	TargetsSkipped    uint64 // sampled announcement, push and pull targets left out for serving ones
	AnnouncersSkipped uint64 // announcers passed over for another when an IWANT was (re)sent
}

// ServiceStats returns a copy of the counters of service steering.
func (e *Engine) ServiceStats() ServiceStats { return e.svcStats }

// service returns the transport's ServiceScore, or nil.
func (e *Engine) service() ServiceScore {
	s, _ := e.cfg.Transport.(ServiceScore)
	return s
}

// unserving reports whether the transport scores id as unserving.
func (e *Engine) unserving(id NodeID) bool {
	s := e.service()
	return s != nil && s.Unserving(id)
}

// preferServing reorders ids so that the members not scored unserving come
// first, keeping the order within each part, and returns how many serve.
func (e *Engine) preferServing(s ServiceScore, ids []NodeID) int {
	n := 0
	var bad [16]NodeID
	rest := bad[:0]
	for _, id := range ids {
		if s.Unserving(id) {
			rest = append(rest, id)
			continue
		}
		ids[n] = id
		n++
	}
	copy(ids[n:], rest)
	return n
}

// pullAsk is a pull digest sent in the last pull round, awaiting a body.
type pullAsk struct {
	to     NodeID
	gaps   bool // the digest listed missing messages
	served bool // a body came from to since
}

// servedBy notes a new body from id: the transport's score hears of it,
// and an outstanding pull digest to id counts as answered.
func (e *Engine) servedBy(id NodeID) {
	s := e.service()
	if s == nil || id == "" {
		return
	}
	s.Served(id)
	for i := range e.pullAsks {
		if e.pullAsks[i].to == id {
			e.pullAsks[i].served = true
		}
	}
}

// unservedBy reports a request id did not serve.
func (e *Engine) unservedBy(id NodeID) {
	if s := e.service(); s != nil {
		e.svcStats.Unserved++
		s.Unserved(id)
	}
}

// settlePullAsks reports the previous round's pull digests that listed
// missing messages and drew no body, and forgets them.
func (e *Engine) settlePullAsks() {
	for _, a := range e.pullAsks {
		if a.gaps && !a.served {
			e.unservedBy(a.to)
		}
	}
	clear(e.pullAsks)
	e.pullAsks = e.pullAsks[:0]
}

// digestHasGaps reports whether d lists an origin with a missing sequence
// number a pull answer could fill: one between two it holds, or between
// its contiguous watermark and the first it holds above it. Below the
// first number seen of an origin (watermark 0) nothing is known to be
// missing: an origin's numbers need not start at 1.
func digestHasGaps(d *Digest) bool {
	for i := range d.Entries {
		de := &d.Entries[i]
		n := uint64(len(de.Above))
		if n == 0 {
			continue
		}
		if de.Above[n-1]-de.Above[0]+1 > n || de.Contiguous > 0 && de.Above[0] > de.Contiguous+1 {
			return true
		}
	}
	return false
}

// sentMark is the oldest body sent to a peer whose arrival its digests have
// not yet confirmed.
type sentMark struct {
	key  MsgKey
	tick uint64
}

// maxSentMarks bounds the peers with a body awaiting confirmation; beyond
// it the table is cleared (counted as SentMarksDropped).
const maxSentMarks = 4096

// markSent remembers that a body was sent to id, unless an older one is
// still awaiting its digest.
func (e *Engine) markSent(id NodeID, k MsgKey) {
	if e.service() == nil {
		return
	}
	if _, ok := e.sentMarks[id]; ok {
		return
	}
	if e.sentMarks == nil {
		e.sentMarks = make(map[NodeID]sentMark)
	}
	if len(e.sentMarks) >= maxSentMarks {
		e.svcStats.SentMarksDropped += uint64(len(e.sentMarks))
		clear(e.sentMarks)
	}
	e.sentMarks[id] = sentMark{key: k, tick: e.ticks}
}

// checkSent compares from's digest with the oldest body sent to it: a body
// sent IWantTimeout+RoundTicks ticks or more before that the digest says
// from lacks was taken and never read (Unserved); one it holds is
// confirmed. A younger body, or an origin a partial digest leaves out,
// waits for a later digest. A confirmed body counts as service: the
// member reads again.
func (e *Engine) checkSent(from NodeID, d *Digest) {
	m, ok := e.sentMarks[from]
	if !ok || e.ticks-m.tick < uint64(e.cfg.IWantTimeout+e.cfg.RoundTicks) {
		return
	}
	var de *DigestEntry
	for i := range d.Entries {
		if d.Entries[i].Origin == m.key.Origin {
			de = &d.Entries[i]
			break
		}
	}
	if de == nil && d.Partial {
		return
	}
	if de != nil {
		if n := len(de.Above); n >= e.cfg.MaxDigestAbove && n > 0 && m.key.Seq > de.Above[n-1] {
			return // beyond what a digest lists of an origin
		}
	}
	delete(e.sentMarks, from)
	if de != nil {
		_, found := slices.BinarySearch(de.Above, m.key.Seq)
		if found || m.key.Seq <= de.Contiguous {
			e.service().Served(from) // it reads what it is sent
			return
		}
	}
	e.svcStats.UnreadBodies++
	e.unservedBy(from)
}
