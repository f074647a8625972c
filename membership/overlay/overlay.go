package overlay

import (
	"fmt"
	"math/rand/v2"

	"github.com/grapevine-p2p/grapevine/core"
)

// MaxRecordsPerFrame bounds the overlay records handled from one frame;
// the rest are dropped (Stats.RecordsDropped). An honest frame carries a
// few.
const MaxRecordsPerFrame = 32

// Overlay is one node's HyParView state machine. It is not safe for
// concurrent use: the owner calls every method from one goroutine.
type Overlay struct {
	cfg  Config
	self core.NodeID
	rng  *rand.Rand
	now  int64

	active   []peer        // ≤ ActiveMax
	passive  []core.NodeID // ≤ PassiveMax, disjoint from active, never self
	pending  []request     // NEIGHBOR requests in flight, ≤ MaxPending
	contacts []core.NodeID // where to (re)join; bounded by Join's caller
	lastJoin int64
	// joinDone: a contact took this node's JOIN in (it accepted the
	// joiner, or a walk it started offered a link); joinTries: JOINs sent
	// since Join
	joinDone  bool
	joinTries int

	shuf           shuffleState
	nextShuffle    int64
	nextRandomLink int64

	fillBackoff int   // ticks the next low-priority request waits after a rejection
	nextFill    int64 // no low-priority request before this tick
	nextHigh    int64 // no high-priority request before this tick (one was just rejected)

	recentJoins [32]recentJoin // joiners walked for lately (repeated JOINs are not walked again)
	recentNext  int

	joinsThisTick     int
	evictionsThisTick int

	lagSeen bool  // ReportLag was called (lag.go)
	lagAt   int64 // the tick of the last lag

	out   []outFrame // frames being built during one call
	stats Stats
}

// peer is an active neighbour.
type peer struct {
	id     core.NodeID
	heard  int64 // tick something was last heard from it
	pinged int64 // tick it was last pinged
	walks  int   // walk records handled from it this tick
	// second: this end's ID is the larger, so on a quiet link it pings
	// only after twice KeepaliveTicks (keepalive). Decided once when the
	// link is made: comparing the IDs every tick for every neighbour was
	// 4 % of an idle peer's CPU (p2pscale -n 200 -idleprofile).
	second bool
}

type recentJoin struct {
	id core.NodeID
	at int64
}

// request is a NEIGHBOR request in flight.
type request struct {
	id   core.NodeID
	sent int64
	high bool // a high-priority request
	join bool // a join offer: add with eviction when accepted
}

type shuffleState struct {
	nonce uint64        // 0: none outstanding
	at    int64         // tick it was sent
	sent  []core.NodeID // what the outstanding SHUFFLE carried (evicted first)
}

type outFrame struct {
	to  core.NodeID
	buf []byte
}

// New returns an Overlay, or an error if cfg is invalid.
func New(cfg Config) (*Overlay, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &Overlay{cfg: cfg, self: cfg.ID, rng: cfg.Rand}
	o.nextShuffle = 1 + int64(o.rng.IntN(cfg.ShuffleTicks))
	if cfg.RandomLinkTicks > 0 {
		// Not before half a period: a node that just joined has links to
		// make first.
		o.nextRandomLink = int64(cfg.RandomLinkTicks/2 + o.rng.IntN(cfg.RandomLinkTicks))
	}
	return o, nil
}

// ID returns this node's ID.
func (o *Overlay) ID() core.NodeID { return o.self }

// Now returns the number of ticks so far.
func (o *Overlay) Now() int64 { return o.now }

// Active appends the active view (the neighbours) to dst.
func (o *Overlay) Active(dst []core.NodeID) []core.NodeID {
	for i := range o.active {
		dst = append(dst, o.active[i].id)
	}
	return dst
}

// Passive appends the passive view to dst.
func (o *Overlay) Passive(dst []core.NodeID) []core.NodeID { return append(dst, o.passive...) }

// ActiveLen and PassiveLen are the views' sizes.
func (o *Overlay) ActiveLen() int  { return len(o.active) }
func (o *Overlay) PassiveLen() int { return len(o.passive) }

// Sample appends up to k distinct active neighbours, chosen uniformly at
// random, to dst: the gossip targets of a layer that runs over the overlay
// (core.PeerSampler's Sample; its Size, the group size, must come from the
// membership layer, which knows more than the views do).
func (o *Overlay) Sample(dst []core.NodeID, k int) []core.NodeID { return o.sampleActive(dst, k) }

// IsActive reports whether id is an active neighbour.
func (o *Overlay) IsActive(id core.NodeID) bool { return o.activeIndex(id) >= 0 }

// Target is the active view size this node currently aims at.
func (o *Overlay) Target() int {
	aim := o.cfg.ActiveMax - o.cfg.ActiveSlack
	if o.cfg.SizeEstimate == nil {
		return aim
	}
	return ActiveTarget(o.cfg.SizeEstimate(), o.cfg.ActiveMin, aim)
}

// Stats returns the counters.
func (o *Overlay) Stats() Stats { return o.stats }

// Join starts joining through the given contacts (tried at random, again
// every JoinRetryTicks while the active view is empty). Only the first
// 16 contacts are kept.
func (o *Overlay) Join(contacts ...core.NodeID) {
	o.contacts = o.contacts[:0]
	for _, c := range contacts {
		if c != o.self && c != "" && len(c) <= o.cfg.Limits.MaxIDLen && len(o.contacts) < 16 {
			o.contacts = append(o.contacts, c)
		}
	}
	o.joinDone, o.joinTries = false, 0
	o.sendJoin()
	o.flush()
}

// maxJoinTriesLinked bounds the JOINs a node that already has neighbours
// sends while no contact has taken its JOIN in (joinRetryDue).
const maxJoinTriesLinked = 6

// joinRetryDue reports whether JOIN is due again. A node with no
// neighbours retries every JoinRetryTicks. So does, a few times, a node
// with neighbours none of which came from its own JOIN: they joined
// through it while its JOIN was lost or dropped by a busy contact, and
// without a retry this node and everything that joined through it would
// form an overlay of their own that never meets the group (every later
// walk, shuffle and refill stays inside it).
func (o *Overlay) joinRetryDue() bool {
	if len(o.contacts) == 0 || o.now-o.lastJoin < int64(o.cfg.JoinRetryTicks) {
		return false
	}
	return len(o.active) == 0 || (!o.joinDone && o.joinTries < maxJoinTriesLinked)
}

func (o *Overlay) sendJoin() {
	if len(o.contacts) == 0 {
		return
	}
	c := o.contacts[o.rng.IntN(len(o.contacts))]
	o.joinTries++
	o.lastJoin = o.now
	o.stats.JoinsSent++
	o.emit(c, appendJoin)
}

// Leave tells every neighbour this node is leaving (they forget it rather
// than keep it as a passive entry) and empties both views.
func (o *Overlay) Leave() {
	for len(o.active) > 0 {
		id := o.active[len(o.active)-1].id
		o.emit(id, func(b []byte) []byte { return appendFlags(b, RecDisconnect, flagLeaving) })
		o.removeActive(len(o.active)-1, Left)
	}
	o.passive = o.passive[:0]
	o.pending = o.pending[:0]
	o.contacts = o.contacts[:0]
	o.flush()
}

// Heard tells the overlay a frame arrived from id through other layers
// (gossip, SWIM): a neighbour that is heard from is not pinged.
func (o *Overlay) Heard(id core.NodeID) {
	if i := o.activeIndex(id); i >= 0 {
		o.active[i].heard = o.now
	}
}

// PeerDown tells the overlay the connection to id failed (the adapter saw
// it close, or SWIM declared it dead). An active neighbour is replaced from
// the passive view, at once or after Config.RefillJitterTicks; id leaves the
// passive view too.
func (o *Overlay) PeerDown(id core.NodeID) {
	o.stats.PeerDowns++
	if i := o.activeIndex(id); i >= 0 {
		o.removeActive(i, Failed)
		if j := o.cfg.RefillJitterTicks; j > 0 && len(o.active) >= o.cfg.ActiveMin {
			// Not alone in replacing it: spread the dials (fill skips
			// low-priority requests until nextFill).
			o.nextFill = max(o.nextFill, o.now+int64(o.rng.IntN(j)))
		}
	}
	o.removePassive(id)
	o.removePending(id)
	o.fill()
	o.flush()
}

// Step handles one frame from a peer: it decodes it and handles the
// overlay's records, ignoring every other record. It returns the decoding
// error, if any (nothing of a malformed frame is handled).
func (o *Overlay) Step(from core.NodeID, frame []byte) error {
	f, err := core.DecodeFrame(frame, o.cfg.Limits)
	if err != nil {
		o.stats.DecodeErrors++
		return err
	}
	return o.StepFrame(from, f)
}

// StepFrame handles the overlay's records of a frame the owner already
// decoded. Records are decoded first: if one is malformed, none is handled.
func (o *Overlay) StepFrame(from core.NodeID, f *core.Frame) error {
	o.stats.FramesIn++
	if from == "" || from == o.self || len(from) > o.cfg.Limits.MaxIDLen {
		o.stats.SelfDropped++
		return nil
	}
	var buf [4]msg
	msgs := buf[:0]
	for _, r := range f.Records {
		if !IsOverlayRecord(r.Type) {
			continue
		}
		if len(msgs) >= MaxRecordsPerFrame {
			o.stats.RecordsDropped++
			continue
		}
		m, err := decodeRecord(r.Type, r.Body, o.cfg.Limits.MaxIDLen)
		if err != nil {
			if r.Type > recLastKnown {
				o.stats.UnknownRecords++ // a newer peer's record type
				continue
			}
			o.stats.DecodeErrors++
			return err
		}
		msgs = append(msgs, m)
	}
	o.Heard(from) // any frame from a neighbour shows it alive
	if len(msgs) == 0 {
		return nil
	}
	for i := range msgs {
		o.stats.RecordsIn++
		o.handle(from, &msgs[i])
	}
	o.fill()
	o.flush()
	return nil
}

func (o *Overlay) handle(from core.NodeID, m *msg) {
	switch m.typ {
	case RecJoin:
		o.onJoin(from)
	case RecForwardJoin:
		o.onForwardJoin(from, m)
	case RecNeighbor:
		if m.flags&flagOffer != 0 {
			o.joinDone = true // a walk for this node's JOIN ended there
		}
		o.onNeighbor(from, m.flags&flagHigh != 0 && m.flags&flagOffer == 0)
	case RecNeighborReply:
		o.onNeighborReply(from, m.flags)
	case RecDisconnect:
		o.onDisconnect(from, m.flags&flagLeaving != 0)
	case RecShuffle:
		o.onShuffle(from, m)
	case RecShuffleReply:
		o.onShuffleReply(from, m)
	case RecKeepalive:
		o.onKeepalive(from, m.flags&flagPing != 0)
	case RecSplice:
		o.onSplice(from, m.id)
	}
}

// Tick advances time by one tick: keepalives and failure detection of the
// active view, NEIGHBOR request timeouts, rejoin, SHUFFLE, random links,
// and refilling the active view from the passive view.
func (o *Overlay) Tick() {
	o.now++
	o.joinsThisTick, o.evictionsThisTick = 0, 0
	o.keepalive()
	o.expireRequests()
	if o.joinRetryDue() {
		o.sendJoin()
	}
	if o.now >= o.nextShuffle {
		o.startShuffle()
		o.nextShuffle = o.now + int64(o.cfg.ShuffleTicks/2+o.rng.IntN(o.cfg.ShuffleTicks))
	}
	if o.cfg.RandomLinkTicks > 0 && o.now >= o.nextRandomLink {
		o.nextRandomLink = o.now + int64(o.cfg.RandomLinkTicks/2+o.rng.IntN(o.cfg.RandomLinkTicks))
		o.randomLink()
	}
	o.fill()
	o.flush()
}

// ---- sending ----

// emit appends a record (built by app) to the frame being built for to.
func (o *Overlay) emit(to core.NodeID, app func([]byte) []byte) {
	for i := range o.out {
		if o.out[i].to == to {
			o.out[i].buf = app(o.out[i].buf)
			return
		}
	}
	o.out = append(o.out, outFrame{to: to, buf: app(core.NewFrame(nil))})
}

// flush hands the frames built during this call to the transport.
func (o *Overlay) flush() {
	for i := range o.out {
		o.stats.FramesSent++
		o.cfg.Transport.Send(o.out[i].to, o.out[i].buf)
		o.out[i] = outFrame{}
	}
	o.out = o.out[:0]
}

func (o *Overlay) String() string {
	return fmt.Sprintf("overlay %s: active %d, passive %d, pending %d", o.self, len(o.active), len(o.passive), len(o.pending))
}
