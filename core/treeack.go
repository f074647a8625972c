package core

// Acknowledged tree push (Config.TreeAckTicks). A tree body lost on a link
// costs the child and its whole subtree a repair: an announcement in the
// next round (up to RoundTicks later), IWantDelay, and IWantTimeout more if
// the IWANT or its answer is lost too. Under 10 % frame loss that repair
// path was the whole tail (docs/benchmarks/loss-tail.md). Here each hop
// repairs its own loss instead, as RMTP's per-hop acknowledgements do (Paul
// et al., IEEE JSAC 1997): the sender asks the child to acknowledge the tree
// bodies of a frame (RecAckRequest), the child answers with an 8-byte hash
// of each key (RecTreeAck), and a body not acknowledged in time is sent
// again, with its arc, to the same child, which then forwards it along its
// subtree as if it had arrived the first time.
//
// Acknowledgements cost a frame per tree body, so they are asked for only
// while there is loss to repair: for TreeAckTicks after the node starts
// (it knows nothing of its links yet) and after it last saw
// loss (a message that reached it outside the tree, a gap in an origin's
// sequence numbers, or a tree body of its own unacknowledged after a resend)
// or, for bodies to one peer, after that peer acknowledged a body unasked.
// A node that sees loss acknowledges every tree body, asked or not, so an
// origin that receives nothing (and sees no loss itself) learns from its
// children that they lose bodies. Without loss nothing changes on the wire.
//
// Probation (Config.TreeAckProbeTicks): a child that has not acknowledged
// a tree body within the last TreeAckProbeTicks ticks is asked to
// acknowledge the next one, loss or not. An honest child answers and is
// left alone until its probation comes round again; one that takes bodies
// and never reads them (a stalling member) never answers, so every body to
// it is resent and handed to the next member of its arc within a few
// timeouts.
//
// The engine has no clock finer than a tick; the adapter decides when an
// acknowledgement is late. AwaitingAnswers says bodies wait for one;
// ResendUnanswered, called every few milliseconds while they do, counts the
// calls an acknowledgement takes and resends a body after ackRTO calls
// (Jacobson's smoothed round trip plus four deviations, at least 2), at
// most treeAckResends times; then the next member of
// the child's arc heads the arc instead (a child that never answers is most
// likely dead), and after as many resends to it the body is left to the
// repair above. Tick resends bodies sent two ticks ago for adapters that
// never call ResendUnanswered. The same calls ask again for bodies wanted
// with IWANT and not received (Config.FastWantRetries).

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// AckHash is the 8-byte hash of a message key that a RecTreeAck carries:
// FNV-1a (64 bit) of the origin followed by the big-endian sequence number.
// A collision only lets a body go unresent.
func AckHash(k MsgKey) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(k.Origin); i++ {
		h ^= uint64(k.Origin[i])
		h *= 1099511628211
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k.Seq)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// treeAckResends is how many times an unacknowledged tree body is sent
// again. At 10 % loss a body and its acknowledgement both get through with
// p = 0.81, so one in 7,000 hops stays unconfirmed after two resends (most
// of those because the acknowledgements were lost, not the body).
const treeAckResends = 2

// maxUnacked bounds the tree bodies awaiting an acknowledgement; beyond it
// bodies are sent without being tracked (TreeAckStats.Untracked).
const maxUnacked = 4096

// maxAckers bounds the peers remembered for acknowledging unasked; beyond
// it the oldest half is forgotten.
const maxAckers = 1024

// unackedBody is a tree body sent with an acknowledgement request.
type unackedBody struct {
	to    NodeID
	en    *storeEntry
	end   uint64 // the arc sent with it
	hash  uint64 // AckHash of its key
	gen   uint64 // ackGen when last sent
	tick  uint64 // tick when last sent
	tries uint8  // resends so far
	// rerouted: the original child never answered and to is the next
	// member of its arc
	rerouted bool
}

// TreeAckStats are the counters of acknowledged tree push, kept apart from
// Stats (whose field names the simulator's trace digests hash).
type TreeAckStats struct {
	Requested       uint64 // tree bodies sent with an acknowledgement request and tracked
	Acked           uint64 // of those, acknowledged
	Resent          uint64 // resends of unacknowledged bodies
	GivenUp         uint64 // bodies still unacknowledged after treeAckResends resends to the child and as many to the next member of its arc (left to repair)
	Rerouted        uint64 // bodies sent to the next member of an arc after its head never answered
	Untracked       uint64 // bodies asked to be acknowledged beyond maxUnacked, not tracked
	AcksSent        uint64 // acknowledgements this node sent (asked or not)
	LossSeen        uint64 // losses seen (a message outside the tree, a gap, a body unacknowledged after a resend), which turn acknowledgements on
	WantsRetried    uint64 // IWANTs sent again between ticks (Config.FastWantRetries)
	WantsAskedEarly uint64 // announced bodies first asked for between ticks (Config.IWantDelayCalls)
}

// TreeAckStats returns a copy of the acknowledged tree push counters.
func (e *Engine) TreeAckStats() TreeAckStats { return e.ackStats }

// AwaitingAnswers reports whether tree bodies wait for an acknowledgement
// or, with FastWantRetries, IWANTs for their answer: the adapter should
// then call ResendUnanswered every few milliseconds.
func (e *Engine) AwaitingAnswers() bool {
	if len(e.unacked) > 0 || len(e.plum.announce) > 0 {
		return true
	}
	if e.cfg.FastWantRetries > 0 || e.cfg.IWantDelayCalls > 0 {
		for _, w := range e.wantList {
			if w.retriable(e.cfg.FastWantRetries) || e.delayedAnnounced(w) {
				return true
			}
		}
	}
	return false
}

// delayedAnnounced reports whether w is an announced body whose first
// IWANT waits for IWantDelayCalls (lazy.go's onIHave).
func (e *Engine) delayedAnnounced(w *pendingWant) bool {
	return e.cfg.IWantDelayCalls > 0 && !w.done && !w.gap && w.next == 0
}

// retriable reports whether ResendUnanswered may still ask again for w: it
// was asked for, has not arrived, and has fast retries left.
func (w *pendingWant) retriable(fast int) bool {
	return !w.done && w.next > 0 && int(w.fast) < fast
}

// ResendUnanswered resends, to the same child and with the same arc, every
// tree body not acknowledged within ackRTO calls (after treeAckResends
// resends to the next member of the child's arc instead, then given up) and, with FastWantRetries, asks the next
// announcer again for every body requested as long ago and still missing;
// with IWantDelayCalls it sends the first IWANT of every announced body
// still missing after that many calls. It sends the frames.
func (e *Engine) ResendUnanswered() {
	e.ackGen++
	if len(e.plum.announce) > 0 {
		e.flushAnnounces(false)
	}
	rto := e.ackRTO()
	e.resendUnacked(func(u *unackedBody) bool { return e.ackGen-u.gen >= rto })
	e.retryWants()
	e.flush()
}

// retryWants asks again, of the next announcer, for the bodies requested
// ackRTO calls ago and still missing, at most
// FastWantRetries times each (lazy.go's IWantTimeout still applies on top,
// at ticks).
func (e *Engine) retryWants() {
	if e.cfg.FastWantRetries <= 0 && e.cfg.IWantDelayCalls <= 0 {
		return
	}
	rto := e.ackRTO()
	for _, w := range e.wantList {
		if e.delayedAnnounced(w) {
			if e.ackGen-w.gen >= uint64(e.cfg.IWantDelayCalls) {
				e.ackStats.WantsAskedEarly++
				e.askNext(w)
			}
			continue
		}
		if !w.retriable(e.cfg.FastWantRetries) || e.ackGen-w.gen < rto {
			continue
		}
		w.fast++
		e.ackStats.WantsRetried++
		if e.cfg.WantRTT {
			e.backOff() // no answer within the timeout (Config.WantRTT)
		}
		e.askNext(w)
	}
}

// resendOnTick is Tick's share, for adapters that never call
// ResendUnanswered: bodies sent two ticks ago or earlier, with no call
// since, are resent.
func (e *Engine) resendOnTick() {
	if len(e.unacked) > 0 {
		e.resendUnacked(func(u *unackedBody) bool { return u.gen == e.ackGen && e.ticks-u.tick >= 2 })
	}
}

// ackRTO is how many ResendUnanswered calls an answer may take before its
// body is resent: the smoothed round trip of acknowledgements in calls plus
// twice its mean deviation (Jacobson, SIGCOMM 1988; TCP's RTO, RFC 6298,
// adds four times: the round trip here is counted in whole calls, whose
// rounding alone makes a deviation of about half a call, and four times it
// put the first resend of make demo's losses 25-35 ms after the body for a
// round trip of under 10 ms, the p99 at 71.6 ms against 51.2 ms with
// twice; under load, two busy loops beside the demo, the p99 and bytes per
// delivery were the same with either), at least 2 and at most maxAckRTO,
// doubled by backOff. Each resend
// waits the same (doubling per resend, as TCP does, put the second resend of
// the demo's losses at about 130 ms, its p99 at 138-160 ms against 73-100 ms
// with the same wait, on a quiet host). On a busy host acknowledgements come late
// and a fixed timeout resent bodies that were not lost, whose duplicates
// made the host busier still.
func (e *Engine) ackRTO() uint64 {
	if e.ackSamples == 0 {
		return min(uint64(2)<<e.ackBackoff, maxAckRTO)
	}
	// srtt8 and rttvar8 are both scaled by 8: this is ⌈srtt + 2·rttvar⌉.
	rto := (e.srtt8 + 2*e.rttvar8 + 7) / 8
	return min(max(rto, 2)<<e.ackBackoff, maxAckRTO)
}

// maxAckRTO bounds ackRTO (in ResendUnanswered calls: 320 ms at p2p's
// 10 ms on a LAN).
const maxAckRTO = 32

// sampleWantRTT (Config.WantRTT) takes the calls between w's first ask
// and its body's arrival as a round trip when the body came from the member
// asked first and that member was asked once (Karn's rule: a body asked
// twice of one member may answer either ask). Under Plumtree no tree body is
// acknowledged, so without it ackRTO never learnt a round trip and fast
// retries went two calls after the ask, before a busy neighbour's answer:
// an N = 1,000 window asked again 16,603 times for 8,596 first asks, each
// retry a second body (docs/benchmarks/ladder.md, "Session 37").
func (e *Engine) sampleWantRTT(w *pendingWant, from NodeID) {
	if !e.cfg.WantRTT || w.next == 0 || w.next > len(w.announcers) || w.announcers[0] != from {
		return
	}
	e.sampleAckRTT(e.ackGen - w.gen0)
}

// sampleAckRTT takes the calls an acknowledgement of a body sent once took
// (Karn's rule: an acknowledgement of a resent body may answer either copy)
// and ends any backoff.
func (e *Engine) sampleAckRTT(calls uint64) {
	m := int64(min(calls, 4*maxAckRTO)) * 8
	if e.ackSamples == 0 {
		e.srtt8, e.rttvar8 = uint64(m), uint64(m/2)
	} else {
		d := m - int64(e.srtt8)
		e.srtt8 = uint64(int64(e.srtt8) + d/8)
		if d < 0 {
			d = -d
		}
		// rttvar (scaled by 8) moves a quarter of the way to |d|.
		e.rttvar8 = uint64(int64(e.rttvar8) + (d-int64(e.rttvar8))/4)
	}
	e.ackSamples++
	e.ackBackoff, e.resendsUnsampled = 0, 0
}

// backOff counts a first resend; when resendsToBackOff of them come without
// a round trip sampled in between, the timeout doubles (TCP's backoff under
// Karn's rule). Under loss most bodies are acknowledged at once and sampled,
// so this stays off; on a host so busy that every acknowledgement comes
// after its timeout no sample is ever taken, and without it every body would
// be resent for good.
func (e *Engine) backOff() {
	e.resendsUnsampled++
	if e.resendsUnsampled >= resendsToBackOff {
		e.resendsUnsampled = 0
		e.ackBackoff = min(e.ackBackoff+1, 4)
	}
}

// resendsToBackOff is how many first resends without a sample double the
// timeout: at 10 % loss a body or its acknowledgement is lost with
// p = 0.19, so four resends in a row without a body acknowledged at once in
// between happen about once in 800 bodies.
const resendsToBackOff = 4

func (e *Engine) resendUnacked(due func(*unackedBody) bool) {
	keep := e.unacked[:0]
	for _, u := range e.unacked {
		if !due(u) {
			keep = append(keep, u)
			continue
		}
		if u.en.gone || u.rerouted && u.tries >= treeAckResends {
			e.ackStats.GivenUp++
			continue
		}
		if u.tries >= treeAckResends {
			// The child never answered: most likely it is gone, or it
			// takes bodies and never reads them. The next member of its
			// arc heads the arc instead (once), and noteHandoff may
			// report the child to the service score.
			e.noteHandoff(u.to)
			next, ok := e.arcSuccessor(u.to, u.end, u.en.msg.Origin)
			if !ok {
				e.ackStats.GivenUp++
				continue
			}
			u.to, u.tries, u.rerouted = next, 0, true
			e.ackStats.Rerouted++
		}
		if u.tries > 0 || u.rerouted {
			// Unacknowledged after a resend too: loss, not a late
			// acknowledgement (one resend is, now and then, on a busy
			// host). While acknowledgements repair the tree, few
			// messages reach this node outside it, so this is what
			// keeps acknowledgements on under steady loss.
			e.sawLoss()
		}
		if !e.sendTreeBody(u.to, u.en, u.end) {
			e.ackStats.GivenUp++ // over the peer's byte budget
			continue
		}
		e.frameFor(u.to).ackReq = true
		if u.tries == 0 && !u.rerouted {
			e.backOff()
		}
		u.tries++
		u.gen, u.tick = e.ackGen, e.ticks
		e.ackStats.Resent++
		keep = append(keep, u)
	}
	clear(e.unacked[len(keep):])
	e.unacked = keep
}

// wantAcks reports whether tree bodies to peer to are to be acknowledged.
func (e *Engine) wantAcks(to NodeID) bool {
	if e.cfg.TreeAckTicks <= 0 {
		return false
	}
	if e.ticks < e.lossUntil {
		return true
	}
	if t, ok := e.ackers[to]; ok && e.ticks < t+uint64(e.cfg.TreeAckTicks) {
		return true
	}
	return e.onProbation(to)
}

// onProbation reports whether child to is on probation
// (TreeAckProbeTicks): it has not acknowledged a tree body within the last
// TreeAckProbeTicks ticks, or never.
func (e *Engine) onProbation(to NodeID) bool {
	if e.cfg.TreeAckProbeTicks <= 0 {
		return false
	}
	t, ok := e.ackedAt[to]
	return !ok || e.ticks >= t+uint64(e.cfg.TreeAckProbeTicks)
}

// noteHandoff counts a body handed over from child to the next member of
// its arc; the second in a row without an acknowledgement from child in
// between reports child to the service score as unserved, so tree push
// passes it over. One handoff proves little: under make demo's 10 % loss
// an honest child leaves about one body in 140 unanswered three times, and
// reporting each steered the tree around honest members (p99 124-161 ms in
// four runs against 85-100 ms); two in a row without an acknowledgement
// between come from a child that takes bodies and reads none (a stalling
// member), whose every body is handed over.
func (e *Engine) noteHandoff(child NodeID) {
	if e.cfg.TreeAckProbeTicks <= 0 {
		return
	}
	if e.handoffs == nil {
		e.handoffs = make(map[NodeID]uint8)
	}
	n, ok := e.handoffs[child]
	if !ok && len(e.handoffs) >= maxAckers {
		clear(e.handoffs) // only delays a report
	}
	if n < 255 {
		n++
	}
	e.handoffs[child] = n
	if n >= 2 {
		e.unservedBy(child)
	}
}

// noteAcked notes that peer from acknowledged a tree body now: it is off
// probation for TreeAckProbeTicks. The table holds maxAckers peers; when
// full, those whose probation ended are forgotten, or, if none has, all
// (they are only asked again).
func (e *Engine) noteAcked(from NodeID) {
	if e.cfg.TreeAckProbeTicks <= 0 {
		return
	}
	delete(e.handoffs, from)
	if e.ackedAt == nil {
		e.ackedAt = make(map[NodeID]uint64)
	}
	if _, ok := e.ackedAt[from]; !ok && len(e.ackedAt) >= maxAckers {
		n := len(e.ackedAt)
		for id, t := range e.ackedAt {
			if e.ticks >= t+uint64(e.cfg.TreeAckProbeTicks) {
				delete(e.ackedAt, id)
			}
		}
		if len(e.ackedAt) == n {
			clear(e.ackedAt)
		}
	}
	e.ackedAt[from] = e.ticks
}

// awaitAck asks to for an acknowledgement of en's tree body (sent with arc
// end) and tracks it for resending.
func (e *Engine) awaitAck(to NodeID, en *storeEntry, end uint64) {
	e.frameFor(to).ackReq = true
	if len(e.unacked) >= maxUnacked {
		e.ackStats.Untracked++
		return
	}
	e.unacked = append(e.unacked, &unackedBody{to: to, en: en, end: end, hash: AckHash(en.msg.Key()), gen: e.ackGen, tick: e.ticks})
	e.ackStats.Requested++
}

// sawLoss notes that a message reached this node outside the tree: for
// TreeAckTicks it asks for and sends acknowledgements of tree bodies.
func (e *Engine) sawLoss() {
	if e.cfg.TreeAckTicks > 0 {
		e.lossUntil = e.ticks + uint64(e.cfg.TreeAckTicks)
		e.ackStats.LossSeen++
	}
}

// ackTree acknowledges the tree messages of a frame from peer from that
// this node now holds, when from asked or this node sees loss.
func (e *Engine) ackTree(from NodeID, f *Frame) {
	if e.cfg.TreeAckTicks <= 0 || len(f.Tree) == 0 || from == "" || (!f.AckRequest && e.ticks >= e.lossUntil) {
		return
	}
	var out *outFrame
	for _, t := range f.Tree {
		k := t.Msg.Key()
		if !e.Has(k) {
			continue // dropped or held: the resend may find it accepted
		}
		if out == nil {
			out = e.frameFor(from)
		}
		out.acks = append(out.acks, AckHash(k))
		e.ackStats.AcksSent++
	}
}

// onTreeAcks takes acknowledgements from peer from: the bodies they name
// are no longer awaited. An acknowledgement of nothing awaited was sent
// unasked, by a peer that sees loss: from is then asked to acknowledge for
// TreeAckTicks. (Acknowledgements this node asked for do not extend that,
// or asking and acknowledging would keep each other going for good.)
func (e *Engine) onTreeAcks(from NodeID, acks []uint64) {
	if e.cfg.TreeAckTicks <= 0 {
		return
	}
	var set map[uint64]struct{}
	if len(acks) > 16 {
		set = make(map[uint64]struct{}, len(acks))
		for _, h := range acks {
			set[h] = struct{}{}
		}
	}
	matched := 0
	keep := e.unacked[:0]
	for _, u := range e.unacked {
		acked := false
		if u.to == from {
			if set != nil {
				_, acked = set[u.hash]
			} else {
				acked = containsHash(acks, u.hash)
			}
		}
		if acked {
			e.ackStats.Acked++
			matched++
			if u.tries == 0 && !u.rerouted {
				e.sampleAckRTT(e.ackGen - u.gen)
			}
			continue
		}
		keep = append(keep, u)
	}
	clear(e.unacked[len(keep):])
	e.unacked = keep
	if matched > 0 {
		e.noteAcked(from)
	}
	if matched < len(acks) {
		if e.ackers == nil {
			e.ackers = make(map[NodeID]uint64)
		}
		if _, ok := e.ackers[from]; !ok && len(e.ackers) >= maxAckers {
			e.forgetAckers(e.ticks)
		}
		e.ackers[from] = e.ticks
	}
}

// containsHash reports whether h is in hs (a frame's acknowledgements: a
// handful, scanned).
func containsHash(hs []uint64, h uint64) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// forgetAckers forgets the peers that last acknowledged TreeAckTicks or
// more before now, or, if that frees nothing, every one (they are asked
// again once they acknowledge again).
func (e *Engine) forgetAckers(now uint64) {
	n := len(e.ackers)
	for id, t := range e.ackers {
		if now >= t+uint64(e.cfg.TreeAckTicks) {
			delete(e.ackers, id)
		}
	}
	if len(e.ackers) == n && n >= maxAckers {
		clear(e.ackers)
	}
}

// arcSuccessor returns the first member this node knows after child inside
// child's arc (ending at end) that is neither origin nor unreachable: the
// member that heads the arc when child does not answer.
func (e *Engine) arcSuccessor(child NodeID, end uint64, origin NodeID) (NodeID, bool) {
	if !e.refreshRing() || len(e.ring) == 0 {
		return "", false
	}
	from := RingPos(child)
	reach, _ := e.cfg.Transport.(Reachability)
	i, _ := slices.BinarySearchFunc(e.ring, from+1, func(p ringPeer, t uint64) int { return cmp.Compare(p.pos, t) })
	for n := 0; n < len(e.ring); n++ {
		p := e.ring[(i+n)%len(e.ring)]
		if !inArc(p.pos, from, end) {
			return "", false
		}
		if p.id == child || p.id == origin || p.id == e.cfg.ID || reach != nil && reach.Unreachable(p.id) {
			continue
		}
		return p.id, true
	}
	return "", false
}
