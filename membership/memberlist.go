// Package membership is a SWIM failure detector and membership list with the
// Lifeguard refinements, written as a pure deterministic state machine.
//
// Each protocol period a member probes the next member of a shuffled
// round-robin order with a ping; if no ack comes within the probe timeout it
// asks k other members to ping-req the target on its behalf; if the period
// ends without an ack the target becomes suspect (Das, Gupta, Motivala, SWIM,
// DSN 2002). A suspect is declared dead only after a suspicion timeout scaled
// with log n; a member that hears it is suspected refutes by raising its
// incarnation number. Updates are disseminated infection-style, piggybacked
// on probes, acks, dedicated gossip frames and the gossip engine's frames,
// each about λ·log n times. Lifeguard (Dadgar, Phillips, Currey,
// arXiv 1707.00788) adds a local health multiplier that stretches this
// member's probe timing when it misses nacks or must refute, nacks from
// ping-req helpers, a suspicion timeout that starts long and shrinks with
// independent confirmations, and the buddy system (a probe of a suspect
// carries the suspicion, so it can refute at once).
//
// Members join through seeds with a full-state exchange, leave gracefully
// with a signed-if-configured leave, and exchange full state with a random
// member now and then (and with a member believed failed, so partitions
// heal). Failed and departed members stay as tombstones for
// Config.TombstoneTicks so stale updates about them are rejected.
//
// Beyond SWIM and Lifeguard, Config.Repair (on in every profile) closes a
// gap of infection-style dissemination: an update reaches every member only
// with high probability, and a member that missed a refutation would declare
// a live member dead when its suspicion timer expires. A member receiving an
// accusation older than its knowledge answers the sender with the newer
// alive, and a member still holding a suspicion after half the minimum
// timeout reminds the suspect directly, which answers with its refutation.
// Three more extensions make the LAN profile detect a crash in about half
// memberlist's time without false failures: a fallback probe on the
// adapter's reliable path beside the ping-reqs (Config.FallbackProbe, like
// memberlist's TCP ping), an out-of-turn probe of a member that others
// suspect, which confirms a real failure or fetches a refutation within
// about a period (Config.ProbeSuspects), and a grace period in which a
// member new to the view is suspected with the long timeout and draws no
// such probe (Config.NewMemberGrace), since probes fail while a forming
// group's connections are still being set up.
//
// The Memberlist never reads a clock, never starts a goroutine and draws
// randomness only from Config.Rand: the same inputs in the same order give
// the same outputs. It is not safe for concurrent use; the owner serialises
// Tick, Step and the other methods (one goroutine or a lock).
package membership

import (
	"bytes"
	"errors"
	"fmt"
	"math"
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

// member is one entry of the member table. Every member holds an entry for
// every other, so the entry is kept small (64 bytes): what most members
// lack (metadata, a signature, a running suspicion) lives in a separately
// allocated memberExtra, and the tick a tombstone was made is Since (a
// member that is not live entered its state when it was entombed).
type member struct {
	ID          core.NodeID
	Incarnation uint64
	metaInc     uint64       // the incarnation of the alive update meta and sig come from
	Since       uint64       // tick at which this member entered State (local clock)
	x           *memberExtra // nil when there is no metadata, signature or suspicion
	idx         int32        // position in Memberlist.all
	liveIdx     int32        // position in Memberlist.live, -1 when not live
	State       State
	removed     bool // forgotten (reaped or evicted)
}

type memberExtra struct {
	meta []byte // the member's metadata; do not modify
	sig  []byte // the member's signature of its alive update; of its leave when left
	susp *suspicion
}

func (mem *member) meta() []byte {
	if mem.x == nil {
		return nil
	}
	return mem.x.meta
}

func (mem *member) sig() []byte {
	if mem.x == nil {
		return nil
	}
	return mem.x.sig
}

func (mem *member) susp() *suspicion {
	if mem.x == nil {
		return nil
	}
	return mem.x.susp
}

// extra returns the member's extra fields, allocating them if needed.
func (mem *member) extra() *memberExtra {
	if mem.x == nil {
		mem.x = new(memberExtra)
	}
	return mem.x
}

// tidy drops the extra fields when they are all empty.
func (mem *member) tidy() {
	if x := mem.x; x != nil && x.meta == nil && x.sig == nil && x.susp == nil {
		mem.x = nil
	}
}

func (mem *member) setMeta(meta, sig []byte) {
	if meta != nil || sig != nil || mem.x != nil {
		x := mem.extra()
		x.meta, x.sig = meta, sig
		mem.tidy()
	}
}

func (mem *member) setSig(sig []byte) {
	if sig != nil || mem.x != nil {
		mem.extra().sig = sig
		mem.tidy()
	}
}

func (mem *member) setSusp(s *suspicion) {
	if s != nil || mem.x != nil {
		mem.extra().susp = s
		mem.tidy()
	}
}

// snapshot returns the public view of the entry.
func (mem *member) snapshot() Member {
	return Member{ID: mem.ID, State: mem.State, Incarnation: mem.Incarnation, Meta: mem.meta(), Since: mem.Since}
}

type tomb struct {
	m  *member
	at uint64
}

// suspicion is Lifeguard's dynamic suspicion timer: it starts at max and
// shrinks toward min as up to k independent members confirm the suspicion.
type suspicion struct {
	start, deadline uint64
	min, max        float64 // ticks
	k               int
	confirmers      []core.NodeID // the accuser first
	remindAt        uint64        // next reminder to the suspect (0: none)
}

func (s *suspicion) timeout() float64 {
	c := len(s.confirmers) - 1
	if s.k <= 0 {
		return s.min
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(s.k)+1)
	return math.Max(s.min, s.max-(s.max-s.min)*frac)
}

func (s *suspicion) reset() { s.deadline = s.start + uint64(math.Ceil(s.timeout())) }

// youngFloor raises the minimum timeout to at least lo, keeping the ratio
// of maximum to minimum (Config.NewMemberGrace).
func (s *suspicion) youngFloor(lo float64) {
	if lo <= s.min {
		return
	}
	s.max *= lo / s.min
	s.min = lo
	s.reset()
}

// confirm records an independent suspicion by from; false if it adds nothing.
func (s *suspicion) confirm(from core.NodeID) bool {
	if s.k <= 0 || len(s.confirmers)-1 >= s.k || slices.Contains(s.confirmers, from) {
		return false
	}
	s.confirmers = append(s.confirmers, from)
	s.reset()
	return true
}

type probe struct {
	active        bool
	target        *member
	seq           uint64
	timeoutAt     uint64
	endAt         uint64
	indirect      bool
	expectedNacks int
	nacks         int
}

type relay struct {
	seq       uint64 // this member's ping to the target
	requester core.NodeID
	reqSeq    uint64
	nackAt    uint64 // 0: no nack (sent or not wanted)
	expire    uint64
}

// Memberlist is the membership state machine of one member.
type Memberlist struct {
	cfg Config
	rng *rand.Rand

	tick    uint64
	self    *member
	members memberIndex // lookup only, never iterated
	all     []*member   // every known member, self and tombstones included
	live    []*member   // alive and suspect members other than self
	liveVer uint64      // bumped whenever live changes (PeersVersion)
	tombs   []tomb      // tombstones in the order they were made, from tombHead
	tombHd  int

	suspects   []*member
	probeOrder []*member
	probeIdx   int
	probeAdds  []probeAdd // insertions into probeOrder not yet made (flushProbeOrder)
	urgent     *member    // suspected by another: probe next (Config.ProbeSuspects)
	wasUrgent  bool       // the last probe went to urgent: the next follows the round
	probe      probe
	relays     []relay
	seq        uint64
	health     int // Lifeguard's local health score, 0..AwarenessMaxMultiplier-1

	queue queue

	nextProbe, nextGossip, nextPushPull, nextReconnect, nextJoin uint64

	corrections int // sent this tick
	reminders   int // sent this tick

	seeds   []core.NodeID
	joining bool
	left    bool

	// Follow-up full-state exchanges after joining (Config.JoinSyncs).
	syncsLeft int
	syncGap   uint64
	nextSync  uint64 // 0: none scheduled

	stats Stats
	buf   []core.NodeID
}

// New validates cfg and returns a memberlist holding only this member.
func New(cfg Config) (*Memberlist, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Memberlist{cfg: cfg, rng: cfg.Rand}
	self := &member{ID: cfg.ID, State: StateAlive, Incarnation: cfg.Incarnation, metaInc: cfg.Incarnation, liveIdx: -1}
	self.setMeta(nilIfEmpty(cfg.Meta), nil)
	m.self = self
	self.idx = 0
	m.all = append(m.all, self)
	m.members.add(m.all, self)
	m.signSelfAlive()
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

// ---- accessors ----

// ID returns this member's ID.
func (m *Memberlist) ID() core.NodeID { return m.cfg.ID }

// Config returns the configuration (with derived fields filled).
func (m *Memberlist) Config() Config { return m.cfg }

// Stats returns a copy of the counters.
func (m *Memberlist) Stats() Stats { return m.stats }

// Ticks returns how many times Tick has been called.
func (m *Memberlist) Ticks() uint64 { return m.tick }

// Incarnation returns this member's incarnation number.
func (m *Memberlist) Incarnation() uint64 { return m.self.Incarnation }

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
	return core.SampleDistinct(dst, k, len(m.live), m.rng, func(i int) core.NodeID { return m.live[i].ID })
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
	if m.self.State.Live() {
		out = append(out, m.self.snapshot())
	}
	for _, mem := range m.live {
		out = append(out, mem.snapshot())
	}
	sortMembers(out)
	return out
}

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

// ---- commands ----

// Join starts joining the group through seeds: this member sends each seed
// its state and asks for theirs, and asks again every JoinRetryInterval
// ticks until it knows another live member. Seeds equal to this member's ID
// are skipped.
func (m *Memberlist) Join(seeds []core.NodeID) {
	m.seeds = m.seeds[:0]
	for _, s := range seeds {
		if s != m.cfg.ID && s != "" && !slices.Contains(m.seeds, s) {
			m.seeds = append(m.seeds, s)
		}
	}
	if len(m.seeds) == 0 || m.left {
		return
	}
	m.joining = true
	m.syncsLeft, m.nextSync = m.cfg.JoinSyncs, 0
	m.sendJoin()
}

func (m *Memberlist) sendJoin() {
	m.stats.JoinAttempts++
	for _, s := range m.seeds {
		m.sendState(s, stateRequest|stateJoin)
	}
	m.nextJoin = m.tick + uint64(m.cfg.JoinRetryInterval)
}

// Leave announces that this member leaves: the (signed) leave update is sent
// at once to GossipNodes live members and then disseminated like any update.
// Probing stops; the member still answers probes and keeps gossiping until
// the owner stops ticking it (wait for Pending to reach 0).
func (m *Memberlist) Leave() {
	if m.left {
		return
	}
	m.left = true
	m.joining = false
	m.probe.active = false
	s := m.self
	s.State = StateLeft
	s.Since = m.tick
	s.setSig(m.sign(LeaveSigningBytes(s.ID, s.Incarnation)))
	rec := appendLeave(nil, leaveMsg{id: s.ID, inc: s.Incarnation, sig: s.sig()})
	m.enqueue(s.ID, RecLeave, rec)
	k := max(m.cfg.GossipNodes, 3)
	for _, to := range m.sample(k, nil) {
		m.transmit(to, append(core.NewFrame(nil), rec...))
	}
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
	s.Incarnation++
	s.metaInc = s.Incarnation
	m.signSelfAlive()
	m.enqueueSelfAlive()
	return nil
}

// ---- time ----

// Tick advances time by one tick: suspicion timers, probe deadlines, the
// next probe, gossip, push-pull, join retries and tombstone reaping.
func (m *Memberlist) Tick() {
	m.tick++
	m.corrections, m.reminders = 0, 0
	m.reap()
	m.checkSuspects()
	m.checkRelays()
	if !m.left {
		m.checkProbe()
		if m.joining && m.tick >= m.nextJoin {
			if len(m.live) > 0 {
				m.joining = false
			} else {
				m.sendJoin()
			}
		}
		if m.cfg.PushPullInterval > 0 && m.tick >= m.nextPushPull {
			p := PushPullPeriod(m.cfg.PushPullInterval, m.Size())
			m.nextPushPull = m.tick + uint64(p-p/4+m.rng.IntN(p/2+1))
			if t := m.sample(1, nil); len(t) == 1 {
				m.stats.PushPullsSent++
				m.sendState(t[0], stateRequest)
			}
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
		m.gossip()
	}
}

// joinSync runs one follow-up full-state exchange after joining with a
// random live member and schedules the next one twice as far away. A joiner
// learns only what its seeds knew when they answered; members that joined
// at the same time, or that the seeds had not heard of yet, would otherwise
// reach it only through gossip (whose retransmissions a young member spends
// on the few members it knows) or the rare periodic push-pull.
func (m *Memberlist) joinSync() {
	m.nextSync = 0
	if m.syncsLeft <= 0 {
		return
	}
	m.syncsLeft--
	if t := m.sample(1, nil); len(t) == 1 {
		m.stats.PushPullsSent++
		m.stats.JoinSyncs++
		m.sendState(t[0], stateRequest)
	}
	if m.syncsLeft > 0 {
		m.syncGap *= 2
		m.nextSync = m.tick + m.syncGap
	}
}

func (m *Memberlist) mult() int {
	if !m.cfg.Lifeguard {
		return 1
	}
	return m.health + 1
}

func (m *Memberlist) adjustHealth(delta int) {
	if !m.cfg.Lifeguard {
		return
	}
	m.health = min(max(m.health+delta, 0), m.cfg.AwarenessMaxMultiplier-1)
}

func (m *Memberlist) checkProbe() {
	p := &m.probe
	if p.active && !p.indirect && m.tick >= p.timeoutAt {
		m.indirectProbe()
	}
	if p.active && m.tick >= p.endAt {
		p.active = false
		m.probeFailed()
	}
	if m.tick >= m.nextProbe {
		m.startProbe()
	}
}

// nextTarget returns the next live member of the shuffled round-robin order,
// reshuffling at the end of each round (SWIM §4.3: every member is probed
// once per round, so detection time is bounded).
func (m *Memberlist) nextTarget() *member {
	m.flushProbeOrder()
	if u := m.urgent; u != nil && (u.removed || u.State != StateSuspect) {
		m.urgent = nil // refuted or gone meanwhile
	}
	if u := m.urgent; u != nil && !m.wasUrgent {
		m.urgent = nil
		m.wasUrgent = true
		m.stats.SuspectProbes++
		return u
	}
	m.wasUrgent = false
	rebuilt := false
	for {
		if m.probeIdx >= len(m.probeOrder) {
			if rebuilt || len(m.live) == 0 {
				return nil
			}
			rebuilt = true
			clear(m.probeOrder)
			m.probeOrder = append(m.probeOrder[:0], m.live...)
			m.rng.Shuffle(len(m.probeOrder), func(i, j int) {
				m.probeOrder[i], m.probeOrder[j] = m.probeOrder[j], m.probeOrder[i]
			})
			m.probeIdx = 0
		}
		t := m.probeOrder[m.probeIdx]
		m.probeOrder[m.probeIdx] = nil
		m.probeIdx++
		if t != nil && !t.removed && t.State.Live() {
			return t
		}
	}
}

func (m *Memberlist) startProbe() {
	mult := m.mult()
	m.nextProbe = m.tick + uint64(m.cfg.ProbeInterval*mult)
	t := m.nextTarget()
	if t == nil {
		return
	}
	m.seq++
	m.probe = probe{
		active:    true,
		target:    t,
		seq:       m.seq,
		timeoutAt: m.tick + uint64(m.cfg.ProbeTimeout*mult),
		endAt:     m.tick + uint64(m.cfg.ProbeInterval*mult),
	}
	m.stats.PingsSent++
	m.send(t.ID, appendPing(core.NewFrame(nil), ping{seq: m.seq, target: t.ID}), t.ID)
}

func (m *Memberlist) indirectProbe() {
	p := &m.probe
	p.indirect = true
	if m.cfg.FallbackProbe {
		// A second direct ping on the reliable path, without piggybacked
		// updates (as memberlist's TCP ping carries none).
		m.stats.FallbackPings++
		m.transmit(p.target.ID, appendPingType(core.NewFrame(nil), RecPingFallback, ping{seq: p.seq, target: p.target.ID}))
	}
	if m.cfg.IndirectChecks == 0 {
		return
	}
	helpers := m.sample(m.cfg.IndirectChecks, p.target)
	var nackAfter uint64
	if m.cfg.Lifeguard && p.endAt > m.tick {
		// Lifeguard: a helper nacks at 80 % of the time left, so the nack
		// arrives before this member gives up.
		nackAfter = max(1, (p.endAt-m.tick)*8/10)
		p.expectedNacks = len(helpers)
	}
	for _, h := range helpers {
		m.stats.PingReqsSent++
		m.send(h, appendPingReq(core.NewFrame(nil), pingReq{seq: p.seq, target: p.target.ID, nackAfter: nackAfter}), "")
	}
}

func (m *Memberlist) probeFailed() {
	p := &m.probe
	m.stats.ProbesFailed++
	if m.cfg.Lifeguard {
		// Lifeguard: a failed probe whose helpers all nacked says the target
		// is down, not this member; missing nacks (or no helpers to ask)
		// say this member may be the slow one.
		if p.expectedNacks > 0 {
			missed := max(p.expectedNacks-p.nacks, 0)
			m.stats.MissedNacks += uint64(missed)
			m.adjustHealth(missed)
		} else {
			m.adjustHealth(1)
		}
	}
	t := p.target
	p.target = nil
	if t == nil || t.removed || !t.State.Live() {
		return
	}
	m.stats.Suspicions++
	m.applySuspect(accuseMsg{id: t.ID, inc: t.Incarnation, from: m.cfg.ID}, "")
}

func (m *Memberlist) checkSuspects() {
	if len(m.suspects) == 0 {
		return
	}
	keep := m.suspects[:0]
	var due []*member
	for _, s := range m.suspects {
		sp := s.susp()
		if s.removed || sp == nil || s.State != StateSuspect {
			continue
		}
		if m.tick >= sp.deadline {
			due = append(due, s)
			continue
		}
		if r := sp.remindAt; r != 0 && m.tick >= r && m.reminders < m.cfg.CorrectionsPerTick {
			// Still suspect after half the minimum timeout: tell the suspect
			// directly. If it is alive and refuted long ago (this member
			// missed the refutation), it answers with its alive at once.
			m.reminders++
			m.stats.Reminders++
			sp.remindAt = m.tick + m.remindEvery(sp)
			a := accuseMsg{id: s.ID, inc: s.Incarnation, from: sp.confirmers[0]}
			m.send(s.ID, appendAccuse(core.NewFrame(nil), RecSuspect, a), s.ID)
		}
		keep = append(keep, s)
	}
	clear(m.suspects[len(keep):])
	m.suspects = keep
	for _, s := range due {
		m.stats.Declared++
		m.applyDead(accuseMsg{id: s.ID, inc: s.Incarnation, from: m.cfg.ID}, "")
	}
}

func (m *Memberlist) checkRelays() {
	if len(m.relays) == 0 {
		return
	}
	keep := m.relays[:0]
	for _, r := range m.relays {
		if r.nackAt != 0 && m.tick >= r.nackAt {
			r.nackAt = 0
			m.stats.NacksSent++
			m.send(r.requester, appendSeq(core.NewFrame(nil), RecNack, r.reqSeq), "")
		}
		if m.tick >= r.expire {
			continue
		}
		keep = append(keep, r)
	}
	m.relays = keep
}

func (m *Memberlist) gossip() {
	if m.queue.len() == 0 {
		return
	}
	for _, to := range m.sample(m.cfg.GossipNodes, nil) {
		if m.queue.len() == 0 {
			break
		}
		f, n := m.fill(core.NewFrame(nil), m.cfg.MaxPacketSize-1, to)
		if n > 0 {
			m.stats.GossipsSent++
			m.transmit(to, f)
		}
	}
}

func (m *Memberlist) reconnect() {
	n := len(m.tombs) - m.tombHd
	for try := 0; try < 3 && n > 0; try++ {
		t := m.tombs[m.tombHd+m.rng.IntN(n)]
		if t.m.removed || t.m.State != StateDead || t.m.Since != t.at {
			continue
		}
		m.stats.Reconnects++
		m.sendState(t.m.ID, stateRequest)
		return
	}
}

func (m *Memberlist) reap() {
	for m.tombHd < len(m.tombs) {
		t := m.tombs[m.tombHd]
		valid := !t.m.removed && !t.m.State.Live() && t.m.Since == t.at
		if valid && t.at+uint64(m.cfg.TombstoneTicks) > m.tick {
			break
		}
		m.tombs[m.tombHd] = tomb{}
		m.tombHd++
		if valid {
			m.stats.TombstonesReaped++
			m.removeMember(t.m)
		}
	}
	m.compactTombs()
}

func (m *Memberlist) compactTombs() {
	if live := len(m.tombs) - m.tombHd; live > 2*len(m.all)+1024 {
		// A member that flaps (declared dead, then alive again) leaves an
		// invalid entry each time; drop them so the list stays bounded by
		// the member table rather than by the flap rate.
		keep := m.tombs[:0]
		for _, t := range m.tombs[m.tombHd:] {
			if !t.m.removed && !t.m.State.Live() && t.m.Since == t.at {
				keep = append(keep, t)
			}
		}
		clear(m.tombs[len(keep):])
		m.tombs, m.tombHd = keep, 0
		return
	}
	if m.tombHd > 32 && m.tombHd*2 > len(m.tombs) {
		n := copy(m.tombs, m.tombs[m.tombHd:])
		clear(m.tombs[n:])
		m.tombs = m.tombs[:n]
		m.tombHd = 0
	}
}

// ---- member table ----

// newMember adds an entry for id, evicting the oldest tombstone if the table
// is full; nil if it is full of live members.
func (m *Memberlist) newMember(id core.NodeID) *member {
	for len(m.all) >= m.cfg.MaxMembers {
		if m.tombHd >= len(m.tombs) {
			m.stats.MembersRefused++
			return nil
		}
		t := m.tombs[m.tombHd]
		m.tombs[m.tombHd] = tomb{}
		m.tombHd++
		if !t.m.removed && !t.m.State.Live() && t.m.Since == t.at {
			m.stats.TombstonesEvicted++
			m.removeMember(t.m)
		}
	}
	mem := &member{ID: id, Since: m.tick, idx: int32(len(m.all)), liveIdx: -1}
	m.all = append(m.all, mem)
	m.members.add(m.all, mem)
	return mem
}

func (m *Memberlist) removeMember(mem *member) {
	if mem == m.self || mem.removed {
		return
	}
	m.setNotLive(mem)
	m.members.del(mem.ID, mem.idx)
	last := m.all[len(m.all)-1]
	if last != mem {
		m.members.moved(last.ID, last.idx, mem.idx)
	}
	m.all[mem.idx] = last
	last.idx = mem.idx
	m.all[len(m.all)-1] = nil
	m.all = m.all[:len(m.all)-1]
	mem.removed = true
	mem.setSusp(nil)
}

func (m *Memberlist) setLive(mem *member) {
	if mem.liveIdx >= 0 {
		return
	}
	mem.liveIdx = int32(len(m.live))
	m.live = append(m.live, mem)
	m.liveVer++
	// SWIM §4.3: a new member goes to a random position of the rest of
	// the current round.
	pos := m.probeIdx + m.rng.IntN(len(m.probeOrder)+len(m.probeAdds)-m.probeIdx+1)
	m.probeAdds = append(m.probeAdds, probeAdd{pos: pos, mem: mem})
}

// probeAdd is one insertion of a new member into the probe order, at
// position pos of the order as it is then.
type probeAdd struct {
	pos int
	mem *member
}

// flushProbeOrder makes the pending insertions. Insertions are deferred
// until the order is read because a full-state exchange (a join) inserts
// thousands of members at once, and making them one by one costs O(n) each:
// at 10,000 members, hours of CPU to bootstrap a simulated group. Many are
// placed at once in O(n log n): taken from the last, each goes to the
// pos-th slot of the final order not taken by a later one (a later
// insertion shifts earlier elements but keeps their order), and the
// members already in the order fill the remaining slots in their order.
// The result is exactly that of the insertions made one by one.
func (m *Memberlist) flushProbeOrder() {
	adds := m.probeAdds
	if len(adds) == 0 {
		return
	}
	if len(adds) <= 16 {
		for _, a := range adds {
			m.probeOrder = slices.Insert(m.probeOrder, a.pos, a.mem)
		}
	} else {
		n := len(m.probeOrder) + len(adds)
		out := make([]*member, n)
		taken := make([]bool, n)
		// Fenwick tree of free slots (1-based), all free at first.
		tree := make([]int32, n+1)
		for i := 1; i <= n; i++ {
			tree[i]++
			if j := i + i&-i; j <= n {
				tree[j] += tree[i]
			}
		}
		top := 1
		for top*2 <= n {
			top *= 2
		}
		for i := len(adds) - 1; i >= 0; i-- {
			// The free slot with a.pos free slots before it.
			k, at := int32(adds[i].pos), 0
			for step := top; step > 0; step /= 2 {
				if next := at + step; next <= n && tree[next] <= k {
					at = next
					k -= tree[next]
				}
			}
			out[at] = adds[i].mem
			taken[at] = true
			for j := at + 1; j <= n; j += j & -j {
				tree[j]--
			}
		}
		j := 0
		for i := range out {
			if !taken[i] {
				out[i] = m.probeOrder[j]
				j++
			}
		}
		m.probeOrder = out
	}
	clear(adds)
	m.probeAdds = adds[:0]
	if cap(adds) > 64 {
		m.probeAdds = nil // a join's worth: do not keep it per member
	}
}

func (m *Memberlist) setNotLive(mem *member) {
	if mem.liveIdx < 0 {
		return
	}
	last := m.live[len(m.live)-1]
	m.live[mem.liveIdx] = last
	last.liveIdx = mem.liveIdx
	m.live[len(m.live)-1] = nil
	m.live = m.live[:len(m.live)-1]
	mem.liveIdx = -1
	m.liveVer++
}

// entomb makes a live member dead or left.
func (m *Memberlist) entomb(mem *member, st State, inc uint64) {
	m.setNotLive(mem)
	mem.State = st
	mem.Incarnation = inc
	mem.Since = m.tick
	mem.setSusp(nil)
	m.tombs = append(m.tombs, tomb{m: mem, at: m.tick})
	m.compactTombs()
}

func (m *Memberlist) emit(kind EventKind, mem *member, from core.NodeID) {
	if m.cfg.Events != nil {
		m.cfg.Events.HandleEvent(Event{Kind: kind, Member: mem.snapshot(), From: from, Tick: m.tick})
	}
}

// ---- receiving ----

// Step handles the membership records (types 0x40-0x7f) of a frame received
// from peer from; other records are left to other layers. Every record that
// decodes is acted on, pings after the other records; the first decoding
// error is returned (and counted).
func (m *Memberlist) Step(from core.NodeID, f *core.Frame) error {
	if f == nil {
		return nil
	}
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

func (m *Memberlist) handle(from core.NodeID, rec core.Record) error {
	lim := &m.cfg.Limits
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
		m.onAck(seq, rec.Type == RecAckFallback)
	case RecNack:
		seq, err := decodeSeq(rec.Body, "nack")
		if err != nil {
			return err
		}
		if p := &m.probe; p.active && p.seq == seq && p.indirect {
			m.stats.NacksReceived++
			p.nacks++
		}
	case RecAlive:
		a, err := decodeAlive(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyAlive(a, from, false)
	case RecSuspect:
		a, err := decodeAccuse(rec.Body, lim, "suspect")
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
	case RecLeave:
		l, err := decodeLeave(rec.Body, lim)
		if err != nil {
			return err
		}
		m.applyLeave(l, from)
	case RecState:
		s, err := decodeState(rec.Body, lim)
		if err != nil {
			return err
		}
		m.onState(from, s)
	default:
		m.stats.UnknownRecords++
	}
	return nil
}

func (m *Memberlist) onPing(from core.NodeID, p ping, fallback bool) {
	if p.target != m.cfg.ID {
		m.stats.Stale++ // meant for a previous holder of this address
		return
	}
	m.stats.AcksSent++
	if fallback {
		// Answered on the same reliable path, bare.
		m.transmit(from, appendSeq(core.NewFrame(nil), RecAckFallback, p.seq))
		return
	}
	f := appendSeq(core.NewFrame(nil), RecAck, p.seq)
	if mem := m.members.get(m.all, from); mem != nil && mem.State == StateDead {
		// Gossip to the dead: a member we believe failed is pinging us, so
		// tell it; if it is alive it refutes.
		f = appendAccuse(f, RecDead, accuseMsg{id: mem.ID, inc: mem.Incarnation, from: m.cfg.ID})
	}
	m.send(from, f, from)
}

func (m *Memberlist) onPingReq(from core.NodeID, p pingReq) {
	if p.target == m.cfg.ID {
		m.stats.AcksSent++
		m.send(from, appendSeq(core.NewFrame(nil), RecAck, p.seq), from)
		return
	}
	if len(m.relays) >= m.cfg.MaxPendingRelays {
		m.stats.RelaysDropped++
		return
	}
	m.seq++
	r := relay{seq: m.seq, requester: from, reqSeq: p.seq,
		expire: m.tick + 2*max(p.nackAfter, uint64(m.cfg.ProbeInterval))}
	if p.nackAfter > 0 {
		r.nackAt = m.tick + min(p.nackAfter, uint64(m.cfg.ProbeInterval*m.cfg.AwarenessMaxMultiplier))
	}
	m.relays = append(m.relays, r)
	m.stats.RelaysServed++
	m.stats.PingsSent++
	m.send(p.target, appendPing(core.NewFrame(nil), ping{seq: m.seq, target: p.target}), p.target)
}

func (m *Memberlist) onAck(seq uint64, fallback bool) {
	if p := &m.probe; p.active && p.seq == seq {
		p.active = false
		p.target = nil
		if fallback {
			// The target is alive, but the lossy path failed: no credit
			// to this member's health (nor blame: the target answered).
			m.stats.FallbackAcks++
			return
		}
		m.stats.AcksReceived++
		m.adjustHealth(-1)
		return
	}
	if fallback {
		m.stats.LateAcks++
		return
	}
	for i := range m.relays {
		r := &m.relays[i]
		if r.seq == seq {
			m.stats.AcksSent++
			m.send(r.requester, appendSeq(core.NewFrame(nil), RecAck, r.reqSeq), r.requester)
			m.relays = slices.Delete(m.relays, i, i+1)
			return
		}
	}
	m.stats.LateAcks++
}

func (m *Memberlist) onState(from core.NodeID, s stateMsg) {
	m.stats.PushPullsIn++
	if m.syncsLeft > 0 && m.nextSync == 0 && !m.left {
		// The first state after Join (normally a seed's answer): follow
		// up half a period later, then after doubling gaps.
		m.syncGap = uint64(max(1, m.cfg.ProbeInterval/2))
		m.nextSync = m.tick + m.syncGap
	}
	for i := range s.entries {
		e := &s.entries[i]
		switch e.state {
		case StateAlive:
			m.applyAlive(aliveMsg{id: e.id, inc: e.inc, meta: e.meta, sig: e.sig}, from, true)
		case StateSuspect:
			m.applyAlive(aliveMsg{id: e.id, inc: e.metaInc, meta: e.meta, sig: e.sig}, from, true)
			m.accuse(accuseMsg{id: e.id, inc: e.inc, from: from}, from, false)
		case StateDead:
			// Another member's verdict is only a suspicion here: if the
			// member is alive it gets the chance to refute (and a member
			// this one never knew is not learned as a corpse).
			if mem := m.members.get(m.all, e.id); mem != nil && (mem.State.Live() || mem == m.self) {
				m.accuse(accuseMsg{id: e.id, inc: e.inc, from: from}, from, false)
			}
		case StateLeft:
			m.applyLeave(leaveMsg{id: e.id, inc: e.inc, sig: e.sig}, from)
		}
	}
	if len(m.probeAdds) > 16 {
		m.flushProbeOrder() // a state exchange's worth: do not hold it until the next probe
	}
	if s.flags&stateRequest != 0 && !m.left {
		m.sendState(from, 0)
	}
}

// ---- the update rules ----
//
// For one member, updates take precedence by incarnation number as SWIM
// defines it (§4.2), with dead and left as terminal until a higher alive:
//
//	alive(i)   overrides alive(j), suspect(j), dead(j), left(j)  iff i > j
//	suspect(i) overrides alive(j)                                iff i ≥ j
//	           overrides suspect(j)                              iff i > j (i = j: a confirmation)
//	dead(i)    overrides alive(j), suspect(j)                    iff i ≥ j
//	left(i)    overrides alive(j), suspect(j), dead(j)           iff i ≥ j
//
// A member hearing suspect/dead(i) about itself with i ≥ its incarnation
// refutes with alive(i+1).

func (m *Memberlist) applyAlive(a aliveMsg, from core.NodeID, viaState bool) {
	if len(a.meta) > m.cfg.MaxMetaSize {
		m.stats.MetaTooLarge++
		return
	}
	if a.id == m.cfg.ID {
		s := m.self
		if m.left {
			return
		}
		if a.inc > s.Incarnation || (a.inc == s.Incarnation && !bytes.Equal(a.meta, s.meta())) {
			// An alive of ours we did not send (a previous life, or a
			// conflict): outbid it.
			m.refute(a.inc)
		}
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem != nil && a.inc <= mem.Incarnation {
		m.stats.Stale++
		return
	}
	if !m.verify(a.id, AliveSigningBytes(a.id, a.inc, a.meta), a.sig) {
		return
	}
	meta := nilIfEmpty(bytes.Clone(a.meta))
	sig := nilIfEmpty(bytes.Clone(a.sig))
	if mem == nil {
		mem = m.newMember(a.id)
		if mem == nil {
			return
		}
		mem.State, mem.Incarnation, mem.metaInc = StateAlive, a.inc, a.inc
		mem.setMeta(meta, sig)
		m.setLive(mem)
		// A member learned from a full-state exchange is news to this
		// member only (the peer that sent the state knows it, and so do
		// those it learned it from); re-broadcasting a whole group's state
		// on every join would flood the group. The exception is the
		// sender itself: its join is news to everyone.
		if !viaState || a.id == from {
			m.enqueue(a.id, RecAlive, appendAlive(nil, aliveMsg{id: mem.ID, inc: a.inc, meta: meta, sig: sig}))
		}
		m.emit(EventJoin, mem, from)
		return
	}
	prev := mem.State
	metaChanged := !bytes.Equal(mem.meta(), meta)
	mem.Incarnation, mem.metaInc = a.inc, a.inc
	mem.State = StateAlive
	if mem.x != nil {
		mem.x.susp = nil
	}
	mem.setMeta(meta, sig)
	if prev != StateAlive {
		mem.Since = m.tick
	}
	m.enqueue(a.id, RecAlive, appendAlive(nil, aliveMsg{id: mem.ID, inc: a.inc, meta: meta, sig: sig}))
	switch prev {
	case StateSuspect:
		m.emit(EventAlive, mem, from)
		if metaChanged {
			m.emit(EventUpdate, mem, from)
		}
	case StateDead, StateLeft:
		m.setLive(mem)
		m.emit(EventRejoin, mem, from)
	default:
		if metaChanged {
			m.emit(EventUpdate, mem, from)
		}
	}
}

func (m *Memberlist) applySuspect(a accuseMsg, from core.NodeID) {
	m.accuse(a, from, true)
}

// accuse applies a suspicion; confirm says whether it may count as an
// independent confirmation (not when it was merely relayed in a full state).
func (m *Memberlist) accuse(a accuseMsg, from core.NodeID, confirm bool) {
	if a.id == m.cfg.ID {
		m.accusedSelf(a.inc, from)
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || !mem.State.Live() || a.inc < mem.Incarnation {
		m.stats.Stale++
		if mem != nil && mem.State == StateAlive && a.inc < mem.Incarnation {
			m.correct(from, mem)
		}
		return
	}
	if mem.State == StateSuspect {
		if a.inc > mem.Incarnation {
			// A suspicion of a newer incarnation is a new suspicion: the
			// old timer (and its confirmations) belonged to the old one.
			mem.Incarnation = a.inc
			mem.setSusp(m.newSuspicion(a.from))
		} else if confirm && mem.susp().confirm(a.from) {
			m.stats.Confirmations++
		} else {
			return
		}
		m.enqueue(a.id, RecSuspect, appendAccuse(nil, RecSuspect, a))
		return
	}
	young := m.cfg.NewMemberGrace > 0 && m.tick-mem.Since < uint64(m.cfg.NewMemberGrace)
	mem.State = StateSuspect
	mem.Incarnation = a.inc
	mem.Since = m.tick
	s := m.newSuspicion(a.from)
	if young {
		s.youngFloor(m.cfg.NewMemberSuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval))
	}
	mem.setSusp(s)
	m.suspects = append(m.suspects, mem)
	m.enqueue(a.id, RecSuspect, appendAccuse(nil, RecSuspect, a))
	if a.from != m.cfg.ID && !young {
		m.probeSoon(mem)
	}
	m.emit(EventSuspect, mem, from)
}

// probeSoon makes a member suspected by someone else this member's next
// probe target (Config.ProbeSuspects): its own probe either confirms the
// suspicion, which shrinks everyone's timeout towards the minimum
// (Lifeguard), or reaches the suspect with the suspicion piggybacked (the
// buddy system) and brings back its refutation. One such probe at most
// between two probes of the round-robin order, and only the latest
// suspect waits: a storm of suspicions can at most halve the pace of the
// round, never stall it (time-bounded completeness, SWIM §4.3).
func (m *Memberlist) probeSoon(mem *member) {
	if !m.cfg.ProbeSuspects || m.left || (m.probe.active && m.probe.target == mem) {
		return
	}
	m.urgent = mem
}

func (m *Memberlist) newSuspicion(accuser core.NodeID) *suspicion {
	n := m.Size()
	lo := m.cfg.SuspicionMult * logN(n) * float64(m.cfg.ProbeInterval)
	s := &suspicion{start: m.tick, min: lo, max: lo, confirmers: []core.NodeID{accuser}}
	if m.cfg.Lifeguard {
		s.max = lo * m.cfg.SuspicionMaxTimeoutMult
		// Only n-2 members besides the accuser and the suspect can confirm.
		s.k = min(m.cfg.SuspicionConfirmations, max(n-2, 0))
	}
	s.reset()
	if m.cfg.Repair {
		s.remindAt = m.tick + m.remindEvery(s)
	}
	return s
}

func (m *Memberlist) remindEvery(s *suspicion) uint64 {
	return max(1, uint64(s.min/2))
}

func (m *Memberlist) applyDead(a accuseMsg, from core.NodeID) {
	if a.id == m.cfg.ID {
		m.accusedSelf(a.inc, from)
		return
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || !mem.State.Live() || a.inc < mem.Incarnation {
		m.stats.Stale++
		if mem != nil && mem.State == StateAlive && a.inc < mem.Incarnation {
			m.correct(from, mem)
		}
		return
	}
	m.entomb(mem, StateDead, a.inc)
	m.enqueue(a.id, RecDead, appendAccuse(nil, RecDead, a))
	m.emit(EventFail, mem, from)
}

func (m *Memberlist) applyLeave(l leaveMsg, from core.NodeID) {
	if l.id == m.cfg.ID {
		if !m.left && l.inc >= m.self.Incarnation {
			m.refute(l.inc) // a leave of a previous life (or a forgery)
		}
		return
	}
	mem := m.members.get(m.all, l.id)
	if mem == nil || mem.State == StateLeft || l.inc < mem.Incarnation {
		m.stats.Stale++
		return
	}
	if !m.verify(l.id, LeaveSigningBytes(l.id, l.inc), l.sig) {
		return
	}
	sig := nilIfEmpty(bytes.Clone(l.sig))
	if mem.State == StateDead {
		// It had been declared failed before its leave arrived.
		mem.State, mem.Incarnation = StateLeft, l.inc
		mem.setSig(sig)
		m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
		return
	}
	m.entomb(mem, StateLeft, l.inc)
	mem.setSig(sig)
	m.enqueue(l.id, RecLeave, appendLeave(nil, leaveMsg{id: l.id, inc: l.inc, sig: sig}))
	m.emit(EventLeave, mem, from)
}

// accusedSelf handles a suspicion or death notice about this member.
func (m *Memberlist) accusedSelf(inc uint64, from core.NodeID) {
	if m.left {
		// Departed: repeat the leave instead of refuting.
		s := m.self
		m.enqueue(s.ID, RecLeave, appendLeave(nil, leaveMsg{id: s.ID, inc: s.Incarnation, sig: s.sig()}))
		return
	}
	if inc < m.self.Incarnation {
		m.stats.Stale++
		m.correct(from, m.self)
		return
	}
	m.refute(inc)
	m.adjustHealth(1) // Lifeguard: having to refute hints that we are slow
	m.correct(from, m.self)
}

// correct answers a peer that relayed an accusation older than what this
// member knows (the member, or this member itself, has since refuted it)
// with the newer alive update, directly. Gossip reaches each member only
// with high probability; a member that missed a refutation keeps relaying
// the stale suspicion, and this answer repairs it long before its
// suspicion timer could expire. At most CorrectionsPerTick per tick.
func (m *Memberlist) correct(to core.NodeID, mem *member) {
	if !m.cfg.Repair || to == "" || to == m.cfg.ID || m.left {
		return
	}
	if m.corrections >= m.cfg.CorrectionsPerTick {
		m.stats.CorrectionsDropped++
		return
	}
	m.corrections++
	m.stats.Corrections++
	f := appendAlive(core.NewFrame(nil), aliveMsg{id: mem.ID, inc: mem.Incarnation, meta: mem.meta(), sig: mem.sig()})
	m.send(to, f, "")
}

func (m *Memberlist) refute(inc uint64) {
	s := m.self
	s.Incarnation = max(s.Incarnation, inc) + 1
	s.metaInc = s.Incarnation
	m.stats.Refutations++
	m.signSelfAlive()
	m.enqueueSelfAlive()
}

func (m *Memberlist) signSelfAlive() {
	s := m.self
	s.setSig(m.sign(AliveSigningBytes(s.ID, s.Incarnation, s.meta())))
}

func (m *Memberlist) sign(msg []byte) []byte {
	if m.cfg.Signer == nil {
		return nil
	}
	sig, err := m.cfg.Signer.SignMembership(msg)
	if err != nil || len(sig) > m.cfg.Limits.MaxSigSize {
		m.stats.SignErrors++
		return nil
	}
	return nilIfEmpty(sig)
}

func (m *Memberlist) verify(id core.NodeID, msg, sig []byte) bool {
	if m.cfg.Verifier == nil {
		return true
	}
	if len(sig) == 0 || m.cfg.Verifier.VerifyMembership(id, msg, sig) != nil {
		m.stats.BadSignatures++
		return false
	}
	return true
}

func (m *Memberlist) enqueueSelfAlive() {
	s := m.self
	m.enqueue(s.ID, RecAlive, appendAlive(nil, aliveMsg{id: s.ID, inc: s.Incarnation, meta: s.meta(), sig: s.sig()}))
}

func (m *Memberlist) enqueue(id core.NodeID, typ uint8, rec []byte) {
	m.stats.UpdatesQueued++
	m.stats.UpdatesDropped += uint64(m.queue.push(id, typ, rec, m.cfg.MaxQueuedUpdates))
}

// ---- sending ----

// Piggyback implements core.Piggybacker: it appends queued updates (at most
// room bytes, and at most MaxPacketSize) to a frame another layer sends to
// peer to. A suspicion about to itself goes first.
func (m *Memberlist) Piggyback(to core.NodeID, frame []byte, room int) []byte {
	frame, _ = m.fill(frame, min(room, m.cfg.MaxPacketSize), to)
	return frame
}

func (m *Memberlist) fill(frame []byte, room int, to core.NodeID) ([]byte, int) {
	if m.queue.len() == 0 {
		return frame, 0
	}
	var prefer core.NodeID
	if m.cfg.Lifeguard {
		prefer = to
	}
	frame, n := m.queue.fill(frame, room, RetransmitLimit(m.cfg.RetransmitMult, m.Size()), prefer, RecSuspect)
	m.stats.UpdatesSent += uint64(n)
	return frame, n
}

// send adds piggybacked updates to frame (the buddy system prefers news
// about buddy) and transmits it.
func (m *Memberlist) send(to core.NodeID, frame []byte, buddy core.NodeID) {
	frame, _ = m.fill(frame, m.cfg.MaxPacketSize-len(frame), buddy)
	m.transmit(to, frame)
}

func (m *Memberlist) transmit(to core.NodeID, frame []byte) {
	m.stats.FramesSent++
	m.stats.BytesSent += uint64(len(frame))
	m.cfg.Transport.Send(to, frame)
}

// sample returns up to k distinct live members other than skip.
func (m *Memberlist) sample(k int, skip *member) []core.NodeID {
	want := k
	if skip != nil && skip.liveIdx >= 0 {
		want++
	}
	m.buf = m.Sample(m.buf[:0], want)
	out := m.buf[:0]
	for _, id := range m.buf {
		if skip != nil && id == skip.ID {
			continue
		}
		out = append(out, id)
	}
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// sendState sends this member's full state to peer to, split into frames of
// at most MaxStateChunk bytes; flags go on the first frame only.
func (m *Memberlist) sendState(to core.NodeID, flags byte) {
	var body []byte
	count := 0
	first := true
	emit := func() {
		hdr := []byte{0}
		if first {
			hdr[0] = flags
		}
		hdr = core.AppendUvarint(hdr, uint64(count))
		rec := append(hdr, body...)
		f := core.AppendRecord(core.NewFrame(nil), RecState, rec)
		m.stats.StateBytesSent += uint64(len(f))
		m.transmit(to, f)
		first = false
		body, count = body[:0], 0
	}
	var e stateEntry
	for _, mem := range m.all {
		e = stateEntry{id: mem.ID, state: mem.State, inc: mem.Incarnation}
		switch mem.State {
		case StateAlive, StateSuspect:
			e.metaInc, e.meta, e.sig = mem.metaInc, mem.meta(), mem.sig()
			if e.metaInc > e.inc {
				e.metaInc = e.inc
			}
		case StateLeft:
			e.sig = mem.sig()
		}
		n := len(body)
		body = appendStateEntry(body, &e)
		if len(body)+16 > m.cfg.MaxStateChunk && count > 0 {
			entry := bytes.Clone(body[n:])
			body = body[:n]
			emit()
			body = append(body, entry...)
		}
		count++
	}
	emit()
}

// StateFrames encodes a full-state exchange announcing members (their ID,
// state and incarnation; metadata of alive ones) as frames of at most
// maxChunk bytes, for tools that bootstrap a converged group (the simulator)
// without running the join protocol. The entries are unsigned, so a
// memberlist with a Verifier drops their alive updates.
func StateFrames(members []Member, maxChunk int) [][]byte {
	var frames [][]byte
	var body []byte
	count := 0
	emit := func() {
		rec := append(core.AppendUvarint([]byte{0}, uint64(count)), body...)
		frames = append(frames, core.AppendRecord(core.NewFrame(nil), RecState, rec))
		body, count = body[:0], 0
	}
	for _, mem := range members {
		e := stateEntry{id: mem.ID, state: mem.State, inc: mem.Incarnation, metaInc: mem.Incarnation, meta: mem.Meta}
		n := len(body)
		body = appendStateEntry(body, &e)
		if len(body)+16 > maxChunk && count > 0 {
			entry := bytes.Clone(body[n:])
			body = body[:n]
			emit()
			body = append(body, entry...)
		}
		count++
	}
	if count > 0 {
		emit()
	}
	return frames
}
