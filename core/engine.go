package core

// The Engine type, its construction and accessors, and the three entry
// points (Publish, Step, Tick) with the intake of new messages. Each concern
// they call into has its own file: store.go, seen.go, fifo.go, push.go,
// pull.go, lazy.go, tree.go and output.go.

import (
	"errors"
	"fmt"
	"math/rand/v2"
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

	// message store (store.go)
	store      map[MsgKey]*storeEntry
	storeOrder []*storeEntry // store entries in insertion order, from storeHead
	storeHead  int
	storeBytes int
	tombs      map[NodeID]tomb // watermarks of evicted origins (seen.go)
	tombOrder  []NodeID        // tombs in eviction order, possibly stale
	heldBytes  int             // payload bytes held back for FIFO delivery, all origins
	hot        []*storeEntry

	// seen-state per origin (seen.go) and the pull digest built from it
	// (pull.go)
	origins    map[NodeID]*originState
	originList []*originState
	digestFrom int    // rotation point when a digest cannot list every origin
	stateVer   uint64 // bumped whenever what a digest would say changes
	digestBody []byte // encoded digest as of digestVer
	digestVer  uint64
	digestGaps bool                // digestBody lists missing messages (service.go)
	pullAsks   []pullAsk           // the last pull round's digests, awaiting a body (service.go)
	pullIdle   pullIdle            // the idle backoff of pull rounds (pull_idle.go)
	sentMarks  map[NodeID]sentMark // per peer, a body sent to it not yet confirmed by its digest (service.go)

	// IWANT requests awaiting a body (lazy.go)
	wants    map[MsgKey]*pendingWant
	wantList []*pendingWant

	// frames being built during the current call, and per-round budgets
	// (output.go)
	outFrames     []*outFrame
	outFrameIdx   map[NodeID]int
	peerBytes     map[NodeID]int           // bytes sent per peer this round
	peerIn        map[NodeID]int           // messages accepted per peer this round
	pullsIn       map[NodeID]int           // pull requests answered per peer this round (pull.go)
	originBudgets map[NodeID]*originBudget // per-peer budget of new origins (origin_budget.go)
	unknown       unknownHold              // messages of origins the Validator does not know yet (unknown_origin.go)

	// reused buffers
	targets       []NodeID
	entryScratch  []*storeEntry
	digestScratch []*DigestEntry
	stats         Stats

	// tree push (tree.go)
	ring         []ringPeer // live peers sorted by ring position
	ringVer      uint64
	ringOK       bool
	arcScratch   []ringPeer
	childScratch []treeChild

	// Plumtree push (plumtree.go)
	plum plumState

	// routing around unserving members (service.go)
	svcStats    ServiceStats
	gapStats    GapStats
	gapsWaiting bool // gap wants made since the last AskGaps (gapwant.go)

	// acknowledged tree push (treeack.go)
	unacked          []*unackedBody    // tree bodies awaiting an acknowledgement
	ackGen           uint64            // ResendUnanswered calls so far
	srtt8            uint64            // smoothed acknowledgement round trip, in ResendUnanswered calls ×8
	rttvar8          uint64            // its mean deviation ×8 (treeack.go's ackRTO)
	ackSamples       uint64            // round trips sampled
	ackBackoff       uint              // the timeout is doubled this many times (treeack.go backOff)
	resendsUnsampled int               // first resends since the last sample or backoff
	lossUntil        uint64            // tick until which this node asks for and sends acknowledgements
	ackers           map[NodeID]uint64 // peers that acknowledged, and the tick they last did
	ackedAt          map[NodeID]uint64 // peers that acknowledged a body, asked or not, and the tick they last did (TreeAckProbeTicks)
	handoffs         map[NodeID]uint8  // tree children handed over since their last acknowledgement (TreeAckProbeTicks)
	ackStats         TreeAckStats
}

// New validates cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, rng: cfg.Rand, nextSeq: cfg.FirstSeq}
	// A new node knows nothing of its links yet: it asks for and sends
	// acknowledgements until TreeAckTicks pass without loss (treeack.go).
	e.lossUntil = uint64(cfg.TreeAckTicks)
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
	return o != nil && o.hasSeen(k.Seq)
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
// delivered locally, stored and gossiped. Options set the message's
// Priority (WithPriority) and Timestamp (WithTimestamp); both are 0 unless
// set. The engine stores payload as given: the caller must not modify it
// afterwards.
func (e *Engine) Publish(topic string, payload []byte, opts ...PublishOption) (*Message, error) {
	var priority uint8
	var timestamp int64
	for _, o := range opts {
		switch o.kind {
		case optPriority:
			priority = uint8(o.value)
		case optTimestamp:
			timestamp = o.value
		}
	}
	if len(payload) > e.cfg.MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrMessageTooLarge, len(payload), e.cfg.MaxMessageSize)
	}
	if len(topic) > e.cfg.Limits.MaxTopicLen {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTopicTooLong, len(topic), e.cfg.Limits.MaxTopicLen)
	}
	m := &Message{Origin: e.cfg.ID, Seq: e.nextSeq, Topic: topic, Priority: priority, Timestamp: timestamp, Payload: payload,
		First: e.nextSeq == e.cfg.FirstSeq}
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

// PublishOption sets a property of a message at Publish: WithPriority,
// WithTimestamp. A later option overrides an earlier one of the same kind;
// the zero PublishOption does nothing.
//
// Publish takes variadic options, as go-libp2p-pubsub's Topic.Publish takes
// PubOpts, rather than positional arguments or an options struct: most
// callers set nothing or one property, the zero values are the defaults,
// and properties can be added without breaking a caller. An option is a
// small value rather than a closure (pubsub's PubOpt is a func) so that
// applying it allocates nothing: a closure writing into an options struct
// makes that struct escape to the heap on every Publish.
type PublishOption struct {
	kind  publishOptionKind
	value int64
}

type publishOptionKind uint8

const (
	optNone publishOptionKind = iota
	optPriority
	optTimestamp
)

// WithPriority sets Message.Priority, which the Priority policy gossips
// highest first (default 0).
func WithPriority(p uint8) PublishOption {
	return PublishOption{kind: optPriority, value: int64(p)}
}

// WithTimestamp sets Message.Timestamp: the caller's clock at publish (Unix
// ns), carried to receivers for latency measurement and never read by the
// engine (default 0).
func WithTimestamp(ts int64) PublishOption {
	return PublishOption{kind: optTimestamp, value: ts}
}

// Step processes one frame received from peer from. It returns an error
// only if the frame does not decode; the frame is then dropped whole.
func (e *Engine) Step(from NodeID, frame []byte) error {
	e.stats.FramesIn++
	e.stats.BytesIn += uint64(len(frame))
	f, err := DecodeFrame(frame, e.cfg.Limits)
	if err != nil {
		e.stats.DecodeErrors++
		e.penalize(from, OffenceMalformed)
		return err
	}
	e.StepFrame(from, f)
	return nil
}

// StepFrame processes an already decoded frame (a caller that also hands the
// frame's other records to the membership layer decodes it once).
func (e *Engine) StepFrame(from NodeID, f *Frame) {
	for _, m := range f.Messages {
		e.receive(from, m, false, 0, f.Size)
	}
	for _, t := range f.Tree {
		e.receive(from, t.Msg, true, t.End, f.Size)
	}
	e.ackTree(from, f)
	if len(f.TreeAcks) > 0 {
		e.onTreeAcks(from, f.TreeAcks)
	}
	if f.Prune && e.cfg.Plumtree {
		e.plumPruned(from)
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
	e.retryUnknownOnJoin()
	e.flush()
}

// Tick advances the engine's clock by one tick. Every Config.RoundTicks
// ticks it runs a gossip round: push hot messages, send a pull request,
// and expire what has outlived its bounds.
func (e *Engine) Tick() {
	e.ticks++
	e.expireStore()
	e.expireWants()
	e.resendOnTick()
	if len(e.plum.announce) > 0 {
		e.flushAnnounces(true)
	}
	if e.ticks%uint64(e.cfg.RoundTicks) == 0 {
		e.rounds++
		// Clearing a map costs its capacity, not its length, so the
		// empty ones (an idle peer's) are left alone: 1 % of an idle
		// group of 1,000's CPU (p2pscale -idleprofile).
		clearIfAny(e.peerBytes)
		clearIfAny(e.peerIn)
		clearIfAny(e.pullsIn)
		if e.cfg.Mode != Pull {
			e.pushRound()
		}
		if e.cfg.Mode != Push && e.rounds%uint64(e.cfg.PullEvery) == 0 {
			e.pullRound()
		}
		e.originHousekeeping()
		e.forgetFullBudgets()
		if len(e.ackers) > 0 {
			e.forgetAckers(e.ticks)
		}
	}
	e.retryUnknown()
	e.flush()
}

// receive handles a message body from a peer; tree says it came along a
// tree push with the arc ending at end; frameSize is the length of the
// frame m aliases (0 if unknown).
func (e *Engine) receive(from NodeID, m *Message, tree bool, end uint64, frameSize int) {
	e.stats.Received++
	if len(m.Payload) > e.cfg.MaxMessageSize {
		e.stats.TooLarge++
		return
	}
	if o := e.origins[m.Origin]; o != nil && o.hasSeen(m.Seq) {
		e.stats.Duplicates++
		if _, ok := e.plumLister(); ok {
			if e.plum.announcing != nil {
				e.plumHeard(from, m.Key())
			}
			e.plumDuplicate(from)
			return
		}
		if tree && e.cfg.TreeFanout > 0 && e.cfg.Mode != Pull {
			// Repair got here first: the subtree is still ours to serve.
			if en := e.store[m.Key()]; en != nil && !en.gone && !en.treeDone {
				e.treePush(en, false, end, from)
			}
		}
		return
	}
	if ts, ok := e.tombs[m.Origin]; ok && m.Seq <= ts.contiguous {
		// An evicted origin's message seen before its eviction.
		e.stats.Duplicates++
		return
	}
	if e.origins[m.Origin] == nil && m.Origin != e.cfg.ID && m.Origin != from && !e.newOriginAllowed(from) {
		// The sender introduced more new origins than any relay of a
		// real group's publishers would: dropped before the signature
		// check, and repaired from other peers if genuine.
		e.stats.OriginsOverBudget++
		e.penalize(from, OffenceFlood)
		return
	}
	if e.origins[m.Origin] == nil && m.Origin != e.cfg.ID && !e.originRoom(m.Origin) {
		// Every origin slot is taken and evicting would forget a tombstone
		// younger than SeenTTL: refuse the new origin instead.
		e.stats.OriginsRefused++
		e.penalize(from, OffenceFlood)
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
	if _, held := e.unknown.keys[m.Key()]; held || (e.unknown.senderFull(from, e.cfg) && e.origins[m.Origin] == nil && m.Origin != from) {
		// A copy of a message held for its origin, or a message of an
		// origin new here from a sender whose share of the hold is full:
		// dropped before the signature check (unknown_origin.go).
		e.unknown.stats.Dropped++
		return
	}
	if e.cfg.Validator != nil {
		if err := e.cfg.Validator.Validate(from, m); err != nil {
			e.stats.Invalid++
			e.penalize(from, OffenceInvalidMessage)
			return
		}
		if g, ok := e.cfg.Validator.(OriginGate); ok && !g.OriginKnown(from, m) {
			e.holdUnknown(from, m, tree, end)
			return
		}
	}
	if !e.cfg.KeepFrames || frameSize > keepFrameMax(m) {
		// Under KeepFrames a stored message pins the frame it aliases
		// while the store counts only the message: copy it out of a frame
		// much larger than it (a tiny message in a padded 4 MiB frame).
		e.stats.FrameCopies += b2u(e.cfg.KeepFrames)
		m = m.Clone()
	}
	e.accept(m, from, tree, end)
}

// accept takes a new message (own or received; m is owned by the engine).
// tree and end describe how it arrived (see receive).
func (e *Engine) accept(m *Message, from NodeID, tree bool, end uint64) {
	key := m.Key()
	high := e.origins[m.Origin].highestSeen()
	o := e.trackOrigin(m.Origin)
	o.markSeen(e, m.Seq)
	o.lastActive = e.ticks
	e.wantGaps(o, high, m, from)
	if w := e.wants[key]; w != nil {
		if w.gap {
			e.gapStats.Filled++
		}
		e.sampleWantRTT(w, from)
		w.done = true
		delete(e.wants, key)
		e.stateVer++
	}
	if from != "" {
		e.servedBy(from)
		if !tree && e.cfg.TreeFanout > 0 && m.Origin != e.cfg.ID {
			e.sawLoss() // the tree did not bring it (treeack.go)
		}
	}
	en := &storeEntry{
		msg:      m,
		origin:   o,
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
	e.deliverInOrder(o, m)
	if e.cfg.Mode == Pull {
		return
	}
	if e.cfg.Plumtree && e.plumPush(en, from) {
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

// penalize reports offence o by peer from to Config.Penalizer, if any.
func (e *Engine) penalize(from NodeID, o Offence) {
	if e.cfg.Penalizer != nil {
		e.cfg.Penalizer.Penalize(from, o)
	}
}

// keepFrameMax is the largest frame a stored message may alias under
// KeepFrames: twice its encoded size plus 1 KiB, so the bytes the store
// pins stay within 2× what MaxStoreBytes counts plus 1 KiB per message.
func keepFrameMax(m *Message) int { return 2*encodedMessageSize(m) + 1024 }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// clearIfAny empties m unless it is empty already.
func clearIfAny[K comparable, V any](m map[K]V) {
	if len(m) > 0 {
		clear(m)
	}
}
