package membership

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/grapevine-p2p/grapevine/core"
)

// Errors returned by SetMeta.
var (
	ErrMetaTooLarge = errors.New("grapevine/membership: metadata exceeds MaxMetaSize")
	ErrLeft         = errors.New("grapevine/membership: this member has left")
)

// Memberlist is the membership state machine of one member.
type Memberlist struct {
	cfg Config
	rng *rand.Rand

	tick     uint64
	self     *member
	members  memberIndex        // lookup only, never iterated
	all      []*member          // every known member, self and tombstones included
	byState  [StateLeft + 1]int // how many of all are in each state (setState keeps it)
	live     []*member          // alive and suspect members other than self
	liveVer  uint64             // bumped whenever live changes (PeersVersion)
	tombs    []tomb             // tombstones in the order they were made, from tombHead
	tombHead int

	chainSeed       [chainSize]byte // the secret seed of this member's alive chain (alive_chain.go)
	pendingVerdicts []verdictEntry  // this member's verdicts for the next round's batch (verdict_batch.go)
	// a received batch's entries and the bytes its signature is checked
	// over, reused from batch to batch (verdict_batch.go)
	batchEntries []verdictEntry
	batchSigning []byte
	verdictSeq   uint64 // numbers this member's own batches in the dissemination queue

	// accusers answered directly at incarnation answeredInc, and the
	// answers sent this tick (answer.go)
	answered    []answeredAccuser
	answeredInc uint64
	answersSent int

	// members asked for their state (ask_state.go)
	stateAsks   map[core.NodeID]*stateAsk
	lastAskTick uint64
	askedAny    bool
	askStats    AskStats

	// the tick of the last full-state answer to each member that asked
	// recently (answer_limit.go)
	stateAnswers map[core.NodeID]uint64
	// view sums (view_sum.go): the XOR of the live members' ID hashes,
	// this member's own term, members whose last ping carried a sum
	// unlike this member's (since the tick), and the earliest tick for the
	// next exchange a difference may start
	liveSum, selfHash uint64
	viewSumDiffers    map[core.NodeID]uint64
	nextViewSync      uint64

	// the Transport's recycled frame buffers, if it has them (broadcast.go)
	bufs core.FrameBuffers

	// digest-first state exchanges (digest_sync.go)
	digests   [maxDigestPending]digestPending
	fpScratch []uint64
	fpBuf     []byte

	// a new member's own alive on its gossip frames (self_announce.go)
	announceUntil uint64
	announcedTo   map[core.NodeID]struct{}

	// recent joiners this member vouches for on frames with their messages (vouch.go)
	recentJoins []recentJoin
	vouchStats  VouchStats

	suspects    []*member  // members with a running suspicion timer (checkSuspects)
	probeOrder  []*member  // the shuffled round-robin order (SWIM §4.3)
	probeIdx    int        // the next position of probeOrder
	probeAdds   []probeAdd // insertions into probeOrder not yet made (flushProbeOrder)
	urgent      *member    // suspected by another: probe next (Config.ProbeSuspects)
	wasUrgent   bool       // the last probe went to urgent: the next follows the round
	unreachable []*member  // reported unreachable, to be probed out of turn although not neighbours (neighbors.go)
	forcedProbe bool       // nextTarget took its target from unreachable
	wasSilent   bool       // the last probe went to a silent neighbour: the next follows the round (silent.go)
	heardSkips  int        // probe periods in a row passed over because every candidate was heard (heard_skip.go)
	nbrSeen     map[core.NodeID]nbrEvidence
	probe       probe
	relays      []relay
	pingSeq     uint64 // sequence number of this member's last ping (probes and relays)
	health      int    // Lifeguard's local health score, 0..AwarenessMaxMultiplier-1
	lagSeen     bool   // ReportLag was called (lag.go)
	lagAt       uint64 // the tick of the last ReportLag
	lagTicks    uint64 // the largest lag reported since the last hold ended (lag.go)

	queue queue

	nextProbe, nextGossip, nextPushPull, nextReconnect, nextJoin uint64

	corrections    int // sent this tick
	reminders      int // sent this tick
	verdictAnswers int // asks for verdicts answered this tick (verdict_pull.go)

	seeds   []core.NodeID
	joining bool
	left    bool
	// seedHeard: a seed's state arrived since Join (joining ends then);
	// joinGap: ticks until the next join attempt
	seedHeard bool
	joinGap   uint64

	// Follow-up full-state exchanges after joining (Config.JoinSyncs).
	syncsLeft int
	syncGap   uint64
	nextSync  uint64 // 0: none scheduled

	// sampleHeard: newcomers heard, the reservoir's count (sample.go)
	sampleHeard uint64
	nbrAskBuf   []core.NodeID // reused by askUnknownNeighbors
	forgotten   forgottenIncs // incarnations of forgotten sampled members (sample_forgotten.go)

	stats     Stats
	sampleBuf []core.NodeID // reused by sample
	nbrBuf    []core.NodeID // reused by liveNeighbors
}

// New validates cfg and returns a memberlist holding only this member.
func New(cfg Config) (*Memberlist, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Memberlist{cfg: cfg, rng: cfg.Rand}
	self := &member{id: cfg.ID, state: StateAlive, incarnation: cfg.Incarnation, metaInc: cfg.Incarnation, liveIdx: -1}
	self.setMeta(nilIfEmpty(cfg.Meta), nil)
	m.self = self
	m.selfHash = idHash(cfg.ID)
	self.idx = 0
	m.all = append(m.all, self)
	m.members.add(m.all, self)
	m.byState[StateAlive]++
	m.signSelfAlive()
	if cfg.ReliableLinks {
		m.queue.reliable, m.queue.seed = true, maphash.MakeSeed()
	}
	m.bufs, _ = cfg.Transport.(core.FrameBuffers)
	if m.sampling() {
		m.selfAnnounce() // from the start (sample.go); Join arms it otherwise
	}
	// Spread the periodic work over the first period, so members started
	// together do not act in lockstep.
	m.nextProbe = 1 + uint64(m.rng.IntN(cfg.ProbeInterval))
	if cfg.GossipInterval > 0 {
		m.nextGossip = 1 + uint64(m.rng.IntN(cfg.GossipInterval))
	}
	if cfg.PushPullInterval > 0 {
		m.nextPushPull = 1 + uint64(m.rng.IntN(cfg.PushPullInterval))
	}
	if cfg.ReconnectInterval > 0 {
		m.nextReconnect = 1 + uint64(m.rng.IntN(cfg.ReconnectInterval))
	}
	return m, nil
}

// ID returns this member's ID.
func (m *Memberlist) ID() core.NodeID { return m.cfg.ID }

// Config returns the configuration (with derived fields filled).
func (m *Memberlist) Config() Config { return m.cfg }

// Stats returns a copy of the counters.
func (m *Memberlist) Stats() Stats {
	st := m.stats
	st.UpdatesHeardBack = m.queue.heardFrom
	st.UpdatesSentAlive, st.UpdatesSentBump, st.UpdatesSentVerdicts = m.queue.sentAlive, m.queue.sentBump, m.queue.sentVerdicts
	return st
}

// Ticks returns how many times Tick has been called.
func (m *Memberlist) Ticks() uint64 { return m.tick }

// Incarnation returns this member's incarnation number.
func (m *Memberlist) Incarnation() uint64 { return m.self.incarnation }

// Health returns Lifeguard's local health multiplier: 1 when healthy, up to
// AwarenessMaxMultiplier when this member keeps missing acks and nacks.
func (m *Memberlist) Health() int { return m.health + 1 }

// Left reports whether Leave was called.
func (m *Memberlist) Left() bool { return m.left }

// Pending returns the number of updates still queued for dissemination (an
// adapter that called Leave can wait for it to drop before shutting down).
func (m *Memberlist) Pending() int { return m.queue.len() }

// Size implements core.PeerSampler: the number of live members, this one
// included.
func (m *Memberlist) Size() int { return len(m.live) + 1 }

// NumLive returns the number of live members other than this one.
func (m *Memberlist) NumLive() int { return len(m.live) }

// Sample implements core.PeerSampler: it appends up to k distinct live
// members other than this one, uniformly at random, to dst.
func (m *Memberlist) Sample(dst []core.NodeID, k int) []core.NodeID {
	return core.SampleDistinct(dst, k, len(m.live), m.rng, func(i int) core.NodeID { return m.live[i].id })
}

// LocalMember returns this member's own entry.
func (m *Memberlist) LocalMember() Member { return m.self.snapshot() }

// Member returns what this member knows of id.
func (m *Memberlist) Member(id core.NodeID) (Member, bool) {
	mem := m.members.get(m.all, id)
	if mem == nil {
		return Member{}, false
	}
	return mem.snapshot(), true
}

// Members returns the live (alive and suspect) members, this one included
// unless it left, sorted by ID.
func (m *Memberlist) Members() []Member {
	out := make([]Member, 0, len(m.live)+1)
	if m.self.state.Live() {
		out = append(out, m.self.snapshot())
	}
	for _, mem := range m.live {
		out = append(out, mem.snapshot())
	}
	sortMembers(out)
	return out
}

// CountStates returns how many known members, tombstones and this one
// included, are in each state (indexed by State). The counts are kept as
// states change, so this costs nothing with the group's size (an adapter
// refreshes its gauges with it every second).
func (m *Memberlist) CountStates() [StateLeft + 1]int { return m.byState }

// AllMembers returns every known member, tombstones included, sorted by ID.
func (m *Memberlist) AllMembers() []Member {
	out := make([]Member, 0, len(m.all))
	for _, mem := range m.all {
		out = append(out, mem.snapshot())
	}
	sortMembers(out)
	return out
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(string(a.ID), string(b.ID)) })
}

// SetMeta replaces this member's metadata and announces it with a new
// incarnation number.
func (m *Memberlist) SetMeta(meta []byte) error {
	if len(meta) > m.cfg.MaxMetaSize {
		return fmt.Errorf("%w: %d bytes > %d", ErrMetaTooLarge, len(meta), m.cfg.MaxMetaSize)
	}
	if m.left {
		return ErrLeft
	}
	s := m.self
	s.setMeta(nilIfEmpty(append([]byte(nil), meta...)), s.sig())
	s.incarnation++
	s.metaInc = s.incarnation
	m.signSelfAlive()
	m.enqueueSelfAlive()
	return nil
}

// Tick advances time by one tick: suspicion timers, probe deadlines, the
// next probe, gossip, push-pull, join retries and tombstone reaping.
func (m *Memberlist) Tick() {
	m.tick++
	m.corrections, m.reminders, m.verdictAnswers, m.answersSent = 0, 0, 0, 0
	m.reap()
	m.trimSample()
	m.askUnknownNeighbors()
	m.checkSuspects()
	m.askVerdicts()
	m.checkRelays()
	if !m.left {
		m.checkProbe()
		if m.joining && m.tick >= m.nextJoin {
			m.retryJoin()
		}
		if m.cfg.PushPullInterval > 0 && m.tick >= m.nextPushPull {
			m.pushPull()
		}
		if m.nextSync != 0 && m.tick >= m.nextSync {
			m.joinSync()
		}
		if m.cfg.ReconnectInterval > 0 && m.tick >= m.nextReconnect {
			m.nextReconnect = m.tick + uint64(m.cfg.ReconnectInterval)
			m.reconnect()
		}
	}
	if m.cfg.GossipInterval > 0 && m.tick >= m.nextGossip {
		m.nextGossip = m.tick + uint64(m.cfg.GossipInterval)
		m.expireReliable()
		m.flushVerdicts()
		m.gossip()
	} else if m.cfg.GossipInterval == 0 {
		m.expireReliable() // updates ride only on other frames
		m.flushVerdicts()
	}
}

// emit hands an event about mem, caused by a record from from, to Config.Events.
func (m *Memberlist) emit(kind EventKind, mem *member, from core.NodeID) {
	if m.cfg.Events != nil {
		m.cfg.Events.HandleEvent(Event{Kind: kind, Member: mem.snapshot(), From: from, Tick: m.tick})
	}
}

// Step handles the membership records (types 0x40-0x7f) of a frame received
// from peer from; other records are left to other layers. Every record that
// decodes is acted on, pings after the other records; the first decoding
// error is returned (and counted).
func (m *Memberlist) Step(from core.NodeID, f *core.Frame) error {
	if f == nil {
		return nil
	}
	m.noteHeard(from)
	m.probeTargetHeard(from)
	var first error
	seen := false
	// Two passes: pings last, so that the ack they trigger already carries
	// what the updates riding with the ping caused (above all, a
	// refutation of a suspicion piggybacked by the prober: the buddy
	// system then brings the refutation back on the ack itself).
	for pass := 0; pass < 2; pass++ {
		for _, rec := range f.Records {
			if rec.Type < core.RecMembershipFirst || rec.Type > core.RecMembershipLast {
				continue
			}
			if isPing := rec.Type == RecPing || rec.Type == RecPingFallback; isPing != (pass == 1) {
				continue
			}
			seen = true
			m.stats.RecordsIn++
			if err := m.handle(from, rec); err != nil {
				m.stats.DecodeErrors++
				if first == nil {
					first = err
				}
			}
		}
	}
	if seen {
		m.stats.FramesIn++
	}
	return first
}

// handle decodes one membership record and passes it to its handler.
func (m *Memberlist) handle(from core.NodeID, rec core.Record) error {
	lim := &m.cfg.Limits
	if m.refuseSender(from, rec.Type) {
		return nil
	}
	switch rec.Type {
	case RecPing, RecPingFallback:
		p, err := decodePing(rec.Body, lim)
		if err != nil {
			return err
		}
		m.onPing(from, p, rec.Type == RecPingFallback)
	case RecPingReq:
		p, err := decodePingReq(rec.Body, lim)
		if err != nil {
			return err
		}
		m.onPingReq(from, p)
	case RecAck, RecAckFallback:
		seq, err := decodeSeq(rec.Body, "ack")
		if err != nil {
			return err
		}
		m.onAck(from, seq, rec.Type == RecAckFallback)
	case RecViewSum:
		count, sum, err := decodeViewSum(rec.Body)
		if err != nil {
			return err
		}
		m.onViewSum(from, count, sum)
	case RecNack:
		seq, err := decodeSeq(rec.Body, "nack")
		if err != nil {
			return err
		}
		m.onNack(from, seq)
	case RecAlive:
		a, err := decodeAlive(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyAlive(a, from, false)
		m.queue.heard(a.id, rec.Type, rec.Body, from)
	case RecBump:
		b, err := decodeBump(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyBump(b, from)
		m.queue.heard(b.id, rec.Type, rec.Body, from)
	case RecVerdictWant:
		entries, err := decodeVerdictWant(rec.Body, lim)
		if err != nil {
			return err
		}
		m.onVerdictWant(from, entries)
	case RecAnswer:
		a, err := decodeAnswer(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyAnswer(a, from)
	case RecVerdicts:
		b, err := decodeVerdicts(rec.Body, lim, m.internID, m.batchEntries)
		if err != nil {
			return err
		}
		m.applyVerdicts(b, from)
		if b.from != m.cfg.ID && m.queue.len() > 0 {
			var key [96]byte
			m.queue.heardBytes(appendRelayKey(key[:0], &b), rec.Type, rec.Body, from)
		}
		m.batchEntries = b.entries[:0]
		clear(b.entries) // no ID of a member this one does not know is kept
	case RecSuspect:
		a, err := decodeAccuse(rec.Body, lim, "suspect")
		if err != nil {
			return err
		}
		m.applySuspect(a, from)
	case RecRemind:
		a, err := decodeRemind(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applySuspect(a, from)
	case RecDead:
		a, err := decodeAccuse(rec.Body, lim, "dead")
		if err != nil {
			return err
		}
		m.applyDead(a, from)
		m.queue.heard(a.id, rec.Type, rec.Body, from)
	case RecLeave:
		l, err := decodeLeave(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyLeave(l, from)
		m.queue.heard(l.id, rec.Type, rec.Body, from)
	case RecState:
		s, err := decodeState(rec.Body, lim)
		if err != nil {
			return err
		}
		m.onState(from, s)
	case RecStateDigest, RecStateWant:
		d, err := decodeDigest(rec.Body, lim, rec.Type == RecStateDigest)
		if err != nil {
			return err
		}
		if rec.Type == RecStateDigest {
			m.onStateDigest(from, d)
		} else {
			m.onStateWant(from, d)
		}
	default:
		m.stats.UnknownRecords++
	}
	return nil
}
