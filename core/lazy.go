package core

// Lazy push: large messages are announced (IHAVE) rather than pushed, and
// a node that lacks one asks an announcer for the body (IWANT), the next
// announcer after IWantTimeout.

import "slices"

// pendingWant is a body this node has asked for (or will, after IWantDelay).
type pendingWant struct {
	key        MsgKey
	announcers []NodeID
	next       int // how many IWANTs were sent; announcers[next%len] is asked next
	deadline   uint64
	done       bool   // the body arrived
	gap        bool   // wanted because a later message revealed it missing (gapwant.go)
	gen        uint64 // Engine.ackGen when last asked (treeack.go's RetryWants)
	gen0       uint64 // Engine.ackGen when first asked (treeack.go's sampleWantRTT)
	fast       uint8  // IWANTs sent by RetryWants, between ticks
	guessed    uint8  // bit i: announcers[i] was asked on a guess, not an announcement of its own
}

// maxAnnouncers bounds the announcers remembered per wanted message.
const maxAnnouncers = 4

// minWantAsks is how many IWANTs a wanted body gets before it is given up
// (to pull) when fewer announcers are known: an IWANT or its answer lost on
// a lossy link is asked again, of the same announcer if it is the only one,
// rather than left for the next pull round.
const minWantAsks = 3

// onIHave records announced messages this node lacks and asks for them.
func (e *Engine) onIHave(from NodeID, keys []MsgKey) {
	for _, k := range keys {
		if e.Has(k) {
			if e.plum.announcing != nil {
				e.plumHeard(from, k)
			}
			continue
		}
		if w := e.wants[k]; w != nil {
			if len(w.announcers) < maxAnnouncers && !slices.Contains(w.announcers, from) {
				w.announcers = append(w.announcers, from)
			}
			continue
		}
		if len(e.wants) >= e.cfg.MaxPendingWants {
			e.stats.WantsDropped++
			continue
		}
		w := &pendingWant{key: k, announcers: []NodeID{from}, next: 1, deadline: e.ticks + uint64(e.cfg.IWantTimeout)}
		if e.cfg.IWantDelay > 0 {
			// Plumtree's timer: the body may be on its way already.
			w.next, w.deadline = 0, e.ticks+uint64(e.cfg.IWantDelay)
			w.gen = e.ackGen // IWantDelayCalls counts from here
		}
		if e.wants == nil {
			e.wants = make(map[MsgKey]*pendingWant)
		}
		e.wants[k] = w
		e.stateVer++
		e.wantList = append(e.wantList, w)
		if w.next == 1 {
			w.gen, w.gen0 = e.ackGen, e.ackGen
			e.sendIWant(from, k)
		}
	}
}

// onIWant answers an IWANT with the stored bodies.
func (e *Engine) onIWant(from NodeID, keys []MsgKey) {
	if e.cfg.Plumtree {
		e.plumGraft(from)
	}
	for _, k := range keys {
		if en := e.store[k]; en != nil && !en.gone && e.mayServe(from, en) {
			if e.sendBody(from, en) {
				e.stats.IWantAnswered++
			}
		}
	}
}

// A peer's IWANTs for one body are answered at most maxServesPerPeer
// times (go-libp2p-pubsub's GossipRetransmission, 3 by default, is the
// same bound): an IWANT costs a few bytes a key and may name a key many
// times, its answer the whole body. An honest peer asks one announcer for
// a body at most minWantAsks times plus FastWantRetries (5 in p2p's
// profiles). The counts are kept for maxServedPeers peers a body; IWANTs
// of further peers are answered uncounted, each still within the peer's
// MaxPeerBytesPerRound.
const (
	maxServesPerPeer = 8
	maxServedPeers   = 16
)

// mayServe reports whether peer from may get en's body for an IWANT, and
// counts the answer.
func (e *Engine) mayServe(from NodeID, en *storeEntry) bool {
	n, ok := en.served[from]
	if n >= maxServesPerPeer {
		e.stats.IWantsLimited++
		return false
	}
	if ok || len(en.served) < maxServedPeers {
		if en.served == nil {
			en.served = make(map[NodeID]uint8, 2)
		}
		en.served[from] = n + 1
	}
	return true
}

// expireWants asks the next announcer for bodies not received in time and
// gives up when none is left.
func (e *Engine) expireWants() {
	if len(e.wantList) == 0 {
		return
	}
	keep := e.wantList[:0]
	for _, w := range e.wantList {
		if w.done {
			continue
		}
		if w.deadline <= e.ticks {
			if w.next > 0 {
				// The last IWANT brought no body in time: a broken
				// promise of the announcer asked (a member asked on a
				// guess promised nothing).
				if i := (w.next - 1) % len(w.announcers); w.guessed&(1<<i) == 0 {
					e.unservedBy(w.announcers[i])
				}
			}
			if w.gap && w.next == 0 {
				e.askGap(w)
			} else if w.next-int(w.fast) < max(len(w.announcers), minWantAsks) {
				e.askNext(w)
			} else {
				e.stats.WantsExpired++
				delete(e.wants, w.key)
				e.stateVer++
				continue
			}
		}
		keep = append(keep, w)
	}
	clear(e.wantList[len(keep):])
	e.wantList = keep
	if len(keep) == 0 {
		e.wantList, e.wants = nil, nil
	}
}

// askNext sends w's next IWANT, to the next announcer in turn.
func (e *Engine) askNext(w *pendingWant) {
	e.preferServingAnnouncer(w)
	to := w.announcers[w.next%len(w.announcers)]
	if w.next >= len(w.announcers) {
		e.stats.WantsRepeated++
	}
	if w.next == 0 {
		w.gen0 = e.ackGen
	}
	w.next++
	w.gen = e.ackGen
	w.deadline = e.ticks + uint64(e.cfg.IWantTimeout)
	e.sendIWant(to, w.key)
	if w.gap {
		e.gapStats.Asked++
	}
}

// preferServingAnnouncer swaps the announcer to be asked next with a later
// one in the rotation when the transport scores it unserving and the other
// is not.
func (e *Engine) preferServingAnnouncer(w *pendingWant) {
	n := len(w.announcers)
	s := e.service()
	if s == nil || n < 2 {
		return
	}
	i := w.next % n
	if !s.Unserving(w.announcers[i]) {
		return
	}
	for d := 1; d < n; d++ {
		if j := (i + d) % n; !s.Unserving(w.announcers[j]) {
			w.announcers[i], w.announcers[j] = w.announcers[j], w.announcers[i]
			if bi, bj := w.guessed>>i&1, w.guessed>>j&1; bi != bj {
				w.guessed ^= 1<<i | 1<<j
			}
			e.svcStats.AnnouncersSkipped++
			return
		}
	}
}

// sendIHave adds an announcement of k to the frame for to.
func (e *Engine) sendIHave(to NodeID, k MsgKey) {
	if !e.chargePeer(to, len(k.Origin)+4) {
		return
	}
	f := e.frameFor(to)
	f.ihave = append(f.ihave, k)
	e.stats.IHavesSent++
}

// sendIWant adds a request for k to the frame for to.
func (e *Engine) sendIWant(to NodeID, k MsgKey) {
	if e.cfg.Plumtree {
		e.plumGraft(to)
		e.plumSawLoss() // the eager path did not bring it in time
	}
	f := e.frameFor(to)
	f.iwant = append(f.iwant, k)
	e.stats.IWantsSent++
}
