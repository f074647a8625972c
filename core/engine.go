package core

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Errors returned by Publish.
var (
	ErrMessageTooLarge = errors.New("grapevine/core: message exceeds MaxMessageSize")
	ErrTopicTooLong    = errors.New("grapevine/core: topic exceeds Limits.MaxTopicLen")
)

// Engine is the gossip state machine of one node. It is not safe for
// concurrent use: the caller serialises Publish, Tick and Step (one
// goroutine, or a lock), exactly like etcd-io/raft's Node.
//
// The engine never reads a clock and never draws randomness except from
// Config.Rand: the same inputs in the same order give the same outputs.
type Engine struct {
	cfg  Config
	rng  *rand.Rand
	bufs FrameBuffers // the Transport's, if it recycles frame buffers

	ticks   uint64
	rounds  uint64
	nextSeq uint64

	store      map[MsgKey]*entry
	order      []*entry // store entries in insertion order, from orderHead
	orderHead  int
	storeBytes int
	hot        []*entry

	origins    map[NodeID]*origin
	originList []*origin
	digestFrom int    // rotation point when a digest cannot list every origin
	stateVer   uint64 // bumped whenever what a digest would say changes
	digestBody []byte // encoded digest as of digestVer
	digestVer  uint64

	wants    map[MsgKey]*want
	wantList []*want

	out       []*outFrame
	outIdx    map[NodeID]int
	peerBytes map[NodeID]int // bytes sent per peer this round
	peerIn    map[NodeID]int // messages accepted per peer this round

	targets       []NodeID
	scratch       []*entry
	digestScratch []*DigestEntry
	stats         Stats

	// tree push (tree.go)
	ring         []ringPeer // live peers sorted by ring position
	ringVer      uint64
	ringOK       bool
	arcScratch   []ringPeer
	childScratch []treeChild
}

type entry struct {
	msg        *Message
	o          *origin // its origin's seen-state when stored (may be evicted since)
	size       int     // encoded record size (type, length, body)
	recvTick   uint64
	expire     uint64
	roundsLeft int
	gone       bool // evicted or expired
	inHot      bool
	lazy       bool
	treeDone   bool // forwarded along a tree push already
}

type origin struct {
	id         NodeID
	idx        int // in Engine.originList
	contiguous uint64
	above      []uint64 // sorted, each > contiguous
	gapSince   uint64
	lastActive uint64

	// FIFO delivery
	cursor     uint64 // last delivered (or skipped) sequence number
	cursorSet  bool
	held       []*Message // sorted by Seq, each > cursor
	heldSince  uint64
	storedMsgs int // messages of this origin in the store
}

type want struct {
	key        MsgKey
	announcers []NodeID
	next       int
	deadline   uint64
	done       bool
}

type outFrame struct {
	to     NodeID
	buf    []byte
	ihave  []MsgKey
	iwant  []MsgKey
	digest []byte
}

const maxAnnouncers = 4

// New validates cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, rng: cfg.Rand, nextSeq: cfg.FirstSeq}
	e.bufs, _ = cfg.Transport.(FrameBuffers)
	return e, nil
}

// ID returns this node's ID.
func (e *Engine) ID() NodeID { return e.cfg.ID }

// Config returns the engine's configuration (with derived fields filled).
func (e *Engine) Config() Config { return e.cfg }

// Stats returns a copy of the counters.
func (e *Engine) Stats() Stats { return e.stats }

// Ticks returns how many times Tick has been called.
func (e *Engine) Ticks() uint64 { return e.ticks }

// Rounds returns how many gossip rounds have run.
func (e *Engine) Rounds() uint64 { return e.rounds }

// Has reports whether this node has seen the message with key k.
func (e *Engine) Has(k MsgKey) bool {
	o := e.origins[k.Origin]
	return o != nil && o.has(k.Seq)
}

// Stored returns the number of messages and payload bytes in the store.
func (e *Engine) Stored() (messages, bytes int) { return len(e.store), e.storeBytes }

// Hot returns the number of messages still being pushed.
func (e *Engine) Hot() int {
	n := 0
	for _, en := range e.hot {
		if !en.gone && en.roundsLeft > 0 {
			n++
		}
	}
	return n
}

// Publish originates a message: it is numbered, signed (Config.Signer),
// delivered locally, stored and gossiped. timestamp is the caller's clock
// (Unix ns), carried to receivers for latency measurement. The engine
// stores payload as given: the caller must not modify it afterwards.
func (e *Engine) Publish(topic string, payload []byte, priority uint8, timestamp int64) (*Message, error) {
	if len(payload) > e.cfg.MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrMessageTooLarge, len(payload), e.cfg.MaxMessageSize)
	}
	if len(topic) > e.cfg.Limits.MaxTopicLen {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTopicTooLong, len(topic), e.cfg.Limits.MaxTopicLen)
	}
	m := &Message{Origin: e.cfg.ID, Seq: e.nextSeq, Topic: topic, Priority: priority, Timestamp: timestamp, Payload: payload}
	if e.cfg.Signer != nil {
		auth, err := e.cfg.Signer.Sign(m)
		if err != nil {
			return nil, fmt.Errorf("grapevine/core: signing message: %w", err)
		}
		if len(auth) > e.cfg.Limits.MaxAuthLen {
			return nil, fmt.Errorf("grapevine/core: authenticator of %d bytes exceeds Limits.MaxAuthLen", len(auth))
		}
		m.Auth = auth
	}
	e.nextSeq++
	m = m.Clone()
	e.stats.Published++
	e.accept(m, "", false, 0)
	e.flush()
	return m, nil
}

// Step processes one frame received from peer from. It returns an error
// only if the frame does not decode; the frame is then dropped whole.
func (e *Engine) Step(from NodeID, frame []byte) error {
	e.stats.FramesIn++
	e.stats.BytesIn += uint64(len(frame))
	f, err := DecodeFrame(frame, e.cfg.Limits)
	if err != nil {
		e.stats.DecodeErrors++
		return err
	}
	e.StepFrame(from, f)
	return nil
}

// StepFrame processes an already decoded frame (a caller that also hands the
// frame's other records to the membership layer decodes it once).
func (e *Engine) StepFrame(from NodeID, f *Frame) {
	for _, m := range f.Messages {
		e.receive(from, m, false, 0)
	}
	for _, t := range f.Tree {
		e.receive(from, t.Msg, true, t.End)
	}
	if len(f.IHave) > 0 {
		e.onIHave(from, f.IHave)
	}
	if len(f.IWant) > 0 {
		e.onIWant(from, f.IWant)
	}
	if f.Digest != nil {
		e.onDigest(from, f.Digest)
	}
	e.flush()
}

// Tick advances the engine's clock by one tick. Every Config.RoundTicks
// ticks it runs a gossip round: push hot messages, send a pull request,
// and expire what has outlived its bounds.
func (e *Engine) Tick() {
	e.ticks++
	e.expireStore()
	e.expireWants()
	if e.ticks%uint64(e.cfg.RoundTicks) == 0 {
		e.rounds++
		clear(e.peerBytes)
		clear(e.peerIn)
		if e.cfg.Mode != Pull {
			e.pushRound()
		}
		if e.cfg.Mode != Push && e.rounds%uint64(e.cfg.PullEvery) == 0 {
			e.pullRound()
		}
		e.originHousekeeping()
	}
	e.flush()
}

// ---- receiving ----

// receive handles a message body from a peer; tree says it came along a
// tree push with the arc ending at end.
func (e *Engine) receive(from NodeID, m *Message, tree bool, end uint64) {
	e.stats.Received++
	if len(m.Payload) > e.cfg.MaxMessageSize {
		e.stats.TooLarge++
		return
	}
	if o := e.origins[m.Origin]; o != nil && o.has(m.Seq) {
		e.stats.Duplicates++
		if tree && e.cfg.TreeFanout > 0 && e.cfg.Mode != Pull {
			// Repair got here first: the subtree is still ours to serve.
			if en := e.store[m.Key()]; en != nil && !en.gone && !en.treeDone {
				e.treePush(en, false, end, from)
			}
		}
		return
	}
	if m.Origin == e.cfg.ID {
		// Our own message we no longer track: never re-deliver it.
		e.stats.Duplicates++
		return
	}
	if e.peerIn == nil {
		e.peerIn = make(map[NodeID]int)
	}
	if e.peerIn[from] >= e.cfg.MaxInboundPerPeerPerRound {
		e.stats.InboundDropped++
		return
	}
	e.peerIn[from]++
	if e.cfg.Validator != nil {
		if err := e.cfg.Validator.Validate(from, m); err != nil {
			e.stats.Invalid++
			return
		}
	}
	if !e.cfg.KeepFrames {
		m = m.Clone()
	}
	e.accept(m, from, tree, end)
}

// accept takes a new message (own or received; m is owned by the engine).
// tree and end describe how it arrived (see receive).
func (e *Engine) accept(m *Message, from NodeID, tree bool, end uint64) {
	key := m.Key()
	o := e.origin(m.Origin)
	o.mark(e, m.Seq)
	o.lastActive = e.ticks
	if w := e.wants[key]; w != nil {
		w.done = true
		delete(e.wants, key)
		e.stateVer++
	}
	en := &entry{
		msg:      m,
		o:        o,
		size:     1 + uvarintLen(uint64(encodedMessageSize(m))) + encodedMessageSize(m),
		recvTick: e.ticks,
		expire:   e.ticks + uint64(e.cfg.StoreTTL),
		lazy:     e.cfg.LazyThreshold > 0 && len(m.Payload) > e.cfg.LazyThreshold,
	}
	e.storePut(key, en, o)
	if e.cfg.Mode != Pull {
		if e.cfg.Rounds > 0 {
			en.roundsLeft = e.cfg.Rounds
		} else {
			en.roundsLeft = RoundsFor(e.cfg.RoundsFactor, e.cfg.Sampler.Size())
		}
		en.inHot = true
		e.hot = append(e.hot, en)
	}
	e.deliver(o, m)
	if e.cfg.Mode == Pull {
		return
	}
	if e.cfg.TreeFanout > 0 {
		own := m.Origin == e.cfg.ID
		if !own && !tree {
			// Pulled or fetched outside the tree: someone else's subtree.
			if _, ok := e.cfg.Sampler.(PeerLister); ok {
				return
			}
		} else if e.treePush(en, own, end, from) {
			return
		}
	}
	if e.cfg.EagerPush {
		e.eagerPush(en, from)
	}
}

func (e *Engine) deliver(o *origin, m *Message) {
	if !e.cfg.FIFO {
		e.deliverNow(m)
		return
	}
	if !o.cursorSet {
		o.cursor, o.cursorSet = m.Seq-1, true
	}
	switch {
	case m.Seq <= o.cursor:
		e.stats.FIFOLate++
	case m.Seq == o.cursor+1:
		e.deliverNow(m)
		o.cursor = m.Seq
		e.drainHeld(o)
	default:
		i := sort.Search(len(o.held), func(i int) bool { return o.held[i].Seq >= m.Seq })
		if len(o.held) == 0 {
			o.heldSince = e.ticks
		}
		o.held = slices.Insert(o.held, i, m)
		if len(o.held) > e.cfg.MaxHeld {
			e.stats.HeldOverflow++
			e.skipGap(o)
		}
	}
}

func (e *Engine) deliverNow(m *Message) {
	e.stats.Delivered++
	if e.cfg.App != nil {
		e.cfg.App.Deliver(m)
	}
}

func (e *Engine) drainHeld(o *origin) {
	n := 0
	for n < len(o.held) && o.held[n].Seq == o.cursor+1 {
		e.deliverNow(o.held[n])
		o.cursor++
		n++
	}
	if n > 0 {
		clear(o.held[:n])
		o.held = o.held[n:]
		o.heldSince = e.ticks
	}
	if len(o.held) == 0 {
		o.held = nil
	}
}

// skipGap gives up the sequence numbers between the FIFO cursor and the
// first held message, and delivers what then becomes consecutive.
func (e *Engine) skipGap(o *origin) {
	if len(o.held) == 0 {
		return
	}
	from, to := o.cursor+1, o.held[0].Seq-1
	e.stats.FIFOLost += to - from + 1
	if lr, ok := e.cfg.App.(LossReporter); ok {
		lr.Lost(o.id, from, to)
	}
	o.cursor = to
	e.drainHeld(o)
}

func (e *Engine) eagerPush(en *entry, from NodeID) {
	targets := e.pick(e.cfg.Fanout, true, from, en.msg.Origin)
	for i, t := range targets {
		if en.lazy && i >= e.cfg.LazyBodyFanout {
			e.sendIHave(t, en.msg.Key())
		} else {
			e.sendBody(t, en)
		}
	}
}

func (e *Engine) onIHave(from NodeID, keys []MsgKey) {
	for _, k := range keys {
		if e.Has(k) {
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
		w := &want{key: k, announcers: []NodeID{from}, next: 1, deadline: e.ticks + uint64(e.cfg.IWantTimeout)}
		if e.cfg.IWantDelay > 0 {
			// Plumtree's timer: the body may be on its way already.
			w.next, w.deadline = 0, e.ticks+uint64(e.cfg.IWantDelay)
		}
		if e.wants == nil {
			e.wants = make(map[MsgKey]*want)
		}
		e.wants[k] = w
		e.stateVer++
		e.wantList = append(e.wantList, w)
		if w.next == 1 {
			e.sendIWant(from, k)
		}
	}
}

func (e *Engine) onIWant(from NodeID, keys []MsgKey) {
	for _, k := range keys {
		if en := e.store[k]; en != nil && !en.gone {
			if e.sendBody(from, en) {
				e.stats.IWantAnswered++
			}
		}
	}
}

// onDigest answers a pull request with the stored messages the requester
// lacks, within one round's budget, chosen by Policy.
func (e *Engine) onDigest(from NodeID, d *Digest) {
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
	lookup := func(en *entry) *DigestEntry {
		if o := en.o; o.idx < len(e.originList) && e.originList[o.idx] == o {
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
	cands := e.scratch[:0]
	for i := len(e.order) - 1; i >= e.orderHead; i-- {
		en := e.order[i]
		if en.gone {
			continue
		}
		de := lookup(en)
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
	sel := e.choose(cands)
	for _, en := range sel {
		if e.sendBody(from, en) {
			e.stats.PullAnswered++
		}
	}
	clear(cands)
	e.scratch = cands[:0]
	clear(byIdx)
	e.digestScratch = byIdx[:0]
}

// ---- rounds ----

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
	cands := append(e.scratch[:0], live...)
	sel := e.choose(cands)
	targets := e.pick(e.cfg.Fanout, e.cfg.DistinctTargets, "", "")
	for _, t := range targets {
		for _, en := range sel {
			if en.lazy {
				e.sendIHave(t, en.msg.Key())
			} else {
				e.sendBody(t, en)
			}
		}
	}
	for _, en := range sel {
		en.roundsLeft--
	}
	clear(cands)
	e.scratch = cands[:0]
}

// choose orders cands by Policy and returns the prefix that fits one round's
// budget (MaxRoundMessages, MaxRoundBytes of payload). It reorders cands.
func (e *Engine) choose(cands []*entry) []*entry {
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

func (e *Engine) pullRound() {
	// The digest changes only when the seen-state or the pending requests
	// do; between changes every round reuses the encoded body.
	body := e.digestBody
	if body == nil || e.digestVer != e.stateVer || len(e.originList) > e.cfg.MaxDigestOrigins {
		body = appendDigestBody(nil, e.digest())
		e.digestBody, e.digestVer = body, e.stateVer
	}
	for _, t := range e.pick(e.cfg.PullFanout, true, "", "") {
		f := e.frameFor(t)
		f.digest = body
		e.stats.DigestsSent++
	}
}

// digest summarises what this node holds, within MaxDigestOrigins entries
// and MaxDigestAbove sequence numbers each; when origins must be left out, a
// different window of them is listed each round.
func (e *Engine) digest() *Digest {
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

// pick returns k targets: distinct when distinct is set, else k independent
// draws. Peers equal to skip1 or skip2 are left out (the sender of what is
// being forwarded and its origin), so fewer than k may come back.
func (e *Engine) pick(k int, distinct bool, skip1, skip2 NodeID) []NodeID {
	t := e.targets[:0]
	if distinct {
		t = e.cfg.Sampler.Sample(t, k)
	} else {
		for i := 0; i < k; i++ {
			t = e.cfg.Sampler.Sample(t, 1)
		}
	}
	out := t[:0]
	for _, id := range t {
		if id == e.cfg.ID || (skip1 != "" && id == skip1) || (skip2 != "" && id == skip2) {
			continue
		}
		out = append(out, id)
	}
	e.targets = t[:0]
	return out
}

// ---- housekeeping ----

func (e *Engine) expireStore() {
	for e.orderHead < len(e.order) {
		en := e.order[e.orderHead]
		if !en.gone {
			if en.expire > e.ticks {
				break
			}
			e.stats.StoreExpired++
			e.storeDrop(en)
		}
		e.order[e.orderHead] = nil
		e.orderHead++
	}
	e.compactOrder()
}

func (e *Engine) compactOrder() {
	if e.orderHead > 32 && e.orderHead*2 > len(e.order) {
		n := copy(e.order, e.order[e.orderHead:])
		clear(e.order[n:])
		e.order = e.order[:n]
		e.orderHead = 0
	}
	if len(e.order) == 0 {
		e.order, e.orderHead = nil, 0
	}
}

func (e *Engine) storePut(key MsgKey, en *entry, o *origin) {
	if e.store == nil {
		e.store = make(map[MsgKey]*entry)
	}
	e.store[key] = en
	e.order = append(e.order, en)
	e.storeBytes += len(en.msg.Payload)
	o.storedMsgs++
	for len(e.store) > e.cfg.MaxStoreMessages || e.storeBytes > e.cfg.MaxStoreBytes {
		old := e.order[e.orderHead]
		e.order[e.orderHead] = nil
		e.orderHead++
		if old.gone {
			continue
		}
		e.stats.StoreEvicted++
		e.storeDrop(old)
	}
	e.compactOrder()
}

func (e *Engine) storeDrop(en *entry) {
	en.gone = true
	k := en.msg.Key()
	delete(e.store, k)
	e.storeBytes -= len(en.msg.Payload)
	if o := e.origins[k.Origin]; o != nil {
		o.storedMsgs--
	}
	if len(e.store) == 0 {
		e.store = nil
	}
}

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
			if w.next < len(w.announcers) {
				to := w.announcers[w.next]
				w.next++
				w.deadline = e.ticks + uint64(e.cfg.IWantTimeout)
				e.sendIWant(to, w.key)
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

// origin returns the seen-state of id, creating it (and evicting the least
// recently active origins if MaxOrigins is reached).
func (e *Engine) origin(id NodeID) *origin {
	if o := e.origins[id]; o != nil {
		return o
	}
	if len(e.originList) >= e.cfg.MaxOrigins {
		e.evictOrigins()
	}
	if e.origins == nil {
		e.origins = make(map[NodeID]*origin)
	}
	o := &origin{id: id, idx: len(e.originList), lastActive: e.ticks}
	e.origins[id] = o
	e.stateVer++
	e.originList = append(e.originList, o)
	return o
}

// evictOrigins drops the least recently active eighth of the origins (at
// least one), never this node's own.
func (e *Engine) evictOrigins() {
	byAge := slices.Clone(e.originList)
	sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].lastActive < byAge[j].lastActive })
	n := max(1, len(byAge)/8)
	for _, o := range byAge {
		if n == 0 {
			break
		}
		if o.id == e.cfg.ID {
			continue
		}
		e.removeOrigin(o)
		e.stats.OriginsEvicted++
		n--
	}
}

func (e *Engine) removeOrigin(o *origin) {
	e.stateVer++
	delete(e.origins, o.id)
	last := e.originList[len(e.originList)-1]
	e.originList[o.idx] = last
	last.idx = o.idx
	e.originList[len(e.originList)-1] = nil
	e.originList = e.originList[:len(e.originList)-1]
	if len(e.originList) == 0 {
		e.originList, e.origins = nil, nil
	}
}

func (e *Engine) originHousekeeping() {
	for i := 0; i < len(e.originList); i++ {
		o := e.originList[i]
		if len(o.above) > 0 && e.ticks-o.gapSince >= uint64(e.cfg.GapTimeout) {
			o.abandonGap(e)
		}
		if e.cfg.FIFO && len(o.held) > 0 && e.ticks-o.heldSince >= uint64(e.cfg.FIFOTimeout) {
			e.skipGap(o)
		}
		if o.id != e.cfg.ID && o.storedMsgs == 0 && len(o.held) == 0 &&
			e.ticks-o.lastActive >= uint64(e.cfg.SeenTTL) {
			e.removeOrigin(o)
			e.stats.OriginsExpired++
			i-- // the last origin moved into slot i
		}
	}
}

// has reports whether seq was seen.
func (o *origin) has(seq uint64) bool {
	if seq <= o.contiguous {
		return true
	}
	_, found := slices.BinarySearch(o.above, seq)
	return found
}

// mark records seq as seen.
func (o *origin) mark(e *Engine, seq uint64) {
	if seq <= o.contiguous {
		return
	}
	e.stateVer++
	if seq == o.contiguous+1 {
		o.contiguous = seq
	} else {
		i, found := slices.BinarySearch(o.above, seq)
		if found {
			return
		}
		if len(o.above) == 0 {
			o.gapSince = e.ticks
		}
		o.above = slices.Insert(o.above, i, seq)
		if len(o.above) > e.cfg.MaxAbove {
			e.stats.AboveOverflow++
			o.abandonGap(e)
		}
	}
	o.absorb()
}

// absorb moves sequence numbers that became contiguous out of above.
func (o *origin) absorb() {
	n := 0
	for n < len(o.above) && o.above[n] == o.contiguous+1 {
		o.contiguous++
		n++
	}
	if n > 0 {
		o.above = o.above[n:]
	}
	if len(o.above) == 0 {
		o.above = nil
	}
}

// abandonGap gives up the first run of missing sequence numbers.
func (o *origin) abandonGap(e *Engine) {
	if len(o.above) == 0 {
		return
	}
	e.stateVer++
	e.stats.GapsAbandoned++
	o.contiguous = o.above[0] - 1
	o.absorb()
	o.gapSince = e.ticks
}

// ---- sending ----

// frameFor returns the frame being built for peer to during this call.
// Calls usually address a handful of peers, found by a linear scan; the map
// index is built only for calls that address many.
func (e *Engine) frameFor(to NodeID) *outFrame {
	if e.outIdx != nil {
		if i, ok := e.outIdx[to]; ok {
			return e.out[i]
		}
	} else {
		for _, f := range e.out {
			if f.to == to {
				return f
			}
		}
	}
	var f *outFrame
	if n := len(e.out); n < cap(e.out) && e.out[:n+1][n] != nil {
		f = e.out[:n+1][n] // reuse a frame struct from an earlier call
	} else {
		f = &outFrame{}
	}
	f.to, f.buf = to, newFrameBuf()
	e.out = append(e.out, f)
	if e.outIdx != nil {
		e.outIdx[to] = len(e.out) - 1
	} else if len(e.out) > 16 {
		e.outIdx = make(map[NodeID]int, len(e.out))
		for i, g := range e.out {
			e.outIdx[g.to] = i
		}
	}
	return f
}

// newFrameBuf starts a frame with room for a small message, so that most
// frames are built in one allocation.
func newFrameBuf() []byte { return NewFrame(make([]byte, 0, 160)) }

// charge accounts n bytes to peer to's budget for this round.
func (e *Engine) charge(to NodeID, n int) bool {
	if e.peerBytes == nil {
		e.peerBytes = make(map[NodeID]int)
	}
	if e.peerBytes[to]+n > e.cfg.MaxPeerBytesPerRound {
		e.stats.PeerBudgetDrops++
		return false
	}
	e.peerBytes[to] += n
	return true
}

func (e *Engine) sendBody(to NodeID, en *entry) bool {
	if !e.charge(to, en.size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+en.size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		e.sendFrame(f)
		f.buf = newFrameBuf()
	}
	e.reserve(f, en.size)
	f.buf = AppendMessageRecord(f.buf, en.msg)
	e.stats.MessagesSent++
	e.stats.PayloadSent += uint64(len(en.msg.Payload))
	return true
}

// sendTreeBody sends en's body along a tree push with the receiver's arc.
func (e *Engine) sendTreeBody(to NodeID, en *entry, end uint64) bool {
	size := treeRecordSize(encodedMessageSize(en.msg))
	if !e.charge(to, size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		e.sendFrame(f)
		f.buf = newFrameBuf()
	}
	e.reserve(f, size)
	f.buf = AppendTreeMessageRecord(f.buf, en.msg, end)
	e.stats.MessagesSent++
	e.stats.PayloadSent += uint64(len(en.msg.Payload))
	return true
}

// frameSlack is the room left in a recycled frame buffer beyond the body
// that called for it: enough for the frame's IHAVE keys and a typical
// membership piggyback without growing the buffer again.
const frameSlack = 512

// reserve makes room for n more bytes in f's buffer, taking a buffer from
// the Transport's FrameBuffers if it has them and the current one is too
// small (so the body is copied once, into memory the transport recycles).
func (e *Engine) reserve(f *outFrame, n int) {
	if e.bufs == nil || cap(f.buf)-len(f.buf) >= n {
		return
	}
	b := e.bufs.FrameBuffer(len(f.buf) + n + frameSlack)
	f.buf = append(b[:0], f.buf...)
}

func (e *Engine) sendIHave(to NodeID, k MsgKey) {
	if !e.charge(to, len(k.Origin)+4) {
		return
	}
	f := e.frameFor(to)
	f.ihave = append(f.ihave, k)
	e.stats.IHavesSent++
}

func (e *Engine) sendIWant(to NodeID, k MsgKey) {
	f := e.frameFor(to)
	f.iwant = append(f.iwant, k)
	e.stats.IWantsSent++
}

func sortKeys(keys []MsgKey) {
	slices.SortFunc(keys, func(a, b MsgKey) int {
		return cmp.Or(strings.Compare(string(a.Origin), string(b.Origin)), cmp.Compare(a.Seq, b.Seq))
	})
}

// flush sends every frame built during the current call.
func (e *Engine) flush() {
	for _, f := range e.out {
		if len(f.ihave) > 0 {
			sortKeys(f.ihave)
			f.buf = AppendKeysRecord(f.buf, RecIHave, slices.Compact(f.ihave))
		}
		if len(f.iwant) > 0 {
			sortKeys(f.iwant)
			f.buf = AppendKeysRecord(f.buf, RecIWant, slices.Compact(f.iwant))
		}
		if f.digest != nil {
			f.buf = AppendRecord(f.buf, RecDigest, f.digest)
		}
		e.sendFrame(f)
		f.to, f.buf, f.digest = "", nil, nil
		f.ihave, f.iwant = f.ihave[:0], f.iwant[:0]
	}
	e.out = e.out[:0] // the frame structs stay in the backing array for reuse
	e.outIdx = nil
}

func (e *Engine) sendFrame(f *outFrame) {
	buf := f.buf
	if e.cfg.Piggyback != nil {
		if room := e.cfg.MaxFrameSize - len(buf); room > 0 {
			buf = e.cfg.Piggyback.Piggyback(f.to, buf, room)
		}
	}
	if len(buf) <= 1 {
		return
	}
	e.stats.FramesSent++
	e.stats.BytesSent += uint64(len(buf))
	e.cfg.Transport.Send(f.to, buf)
}
