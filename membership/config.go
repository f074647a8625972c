package membership

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Config configures a Memberlist. Start from DefaultLANConfig,
// DefaultWANConfig or DefaultLocalConfig, which document every default, and
// fill in ID and Transport.
//
// Every duration is counted in ticks: the memberlist never reads a clock,
// time advances only when the owner calls Tick. Tick says how long a tick
// is meant to last; adapters drive Tick at that rate, the simulator maps it
// to simulated time. All three profiles use 100 ms ticks, so the intervals
// below read directly as tenths of a second.
type Config struct {
	// ID is this member's identity and address. Required.
	ID core.NodeID
	// Meta is this member's metadata (e.g. listen addresses, roles): an
	// opaque blob of at most MaxMetaSize bytes, versioned by the member's
	// incarnation number (SetMeta raises the incarnation).
	Meta []byte
	// Transport sends encoded frames. Required.
	Transport core.Transport
	// Events receives membership events. Optional.
	Events EventHandler
	// Signer signs this member's own alive and leave updates and its
	// accusations. Optional.
	Signer Signer
	// Verifier checks the signature of every alive and leave update (by
	// the member it is about) and of every suspect and dead record (by its
	// accuser); records that fail are dropped and counted
	// (Stats.BadSignatures). With a Verifier the memberlist runs in
	// authenticated mode, the rules for an open network where any peer may
	// be hostile (doc.go, "Hostile members"): accusations are believed only
	// at incarnations the accused has signed, confirmations count per
	// signing accuser, and a dead record from a single accuser only starts
	// a suspicion. Without one every member is trusted, as in SWIM and
	// hashicorp/memberlist: for simulations of honest groups.
	Verifier Verifier
	// Penalizer hears the offences this memberlist attributes to the peer
	// that sent a frame (forged accusations, bad signatures, floods), for
	// the adapter's peer score. Optional.
	Penalizer core.Penalizer
	// Admit, if set, closes the group: it is consulted before an alive
	// update about a member is believed (every new incarnation, so every
	// metadata change too; the adapter checks e.g. a member certificate in
	// the metadata). A refused update is dropped and counted
	// (Stats.NotAdmitted), and its sender penalised if the error wraps
	// ErrNotAdmissible (provably bad, not merely expired). Records from a
	// sender that is not an admitted member, other than its own alive
	// update, are not believed: no relays, no accusations, no state.
	Admit func(id core.NodeID, meta []byte) error
	// Neighbors, when set, confines the probes, ping-req helpers, gossip
	// and push-pull partners this member chooses to the neighbours of a
	// bounded overlay (see Neighbors). Nil: any live member, as in SWIM.
	Neighbors Neighbors
	// MemberSample, if positive, makes the member list a bounded random
	// sample of about this many live members (neighbours and suspects
	// included; neighbours are never dropped), for groups too large for every member
	// to know every other (sample.go). 0, the default: every member.
	// Meant with Neighbors set; see sample.go for what it changes.
	MemberSample int

	// Rand is the source of all randomness. If nil, one is seeded from Seed
	// and ID, so runs are reproducible.
	Rand *rand.Rand
	// Seed seeds Rand when Rand is nil.
	Seed uint64
	// Incarnation is the incarnation number this member starts with. A
	// restarted member refutes its own old state anyway, but an adapter that
	// starts from a growing value (e.g. seconds since an epoch) spares the
	// group that round trip.
	Incarnation uint64

	// Tick is the intended duration of one tick (advisory: the memberlist
	// never reads a clock; adapters tick at this rate).
	Tick time.Duration

	// ProbeInterval is the protocol period T′, in ticks: one member is
	// probed per period.
	ProbeInterval int
	// ProbeTimeout is how many ticks to wait for a direct ack before asking
	// IndirectChecks members to probe on this member's behalf. It must be
	// below ProbeInterval, which leaves the rest of the period for the
	// indirect probe.
	ProbeTimeout int
	// IndirectChecks (k) is the number of members asked to ping-req.
	IndirectChecks int
	// SuspicionMult scales the suspicion timeout: the minimum is
	// SuspicionMult·max(1, log₁₀ n) protocol periods.
	SuspicionMult float64
	// SuspicionMaxTimeoutMult is the ratio of the longest suspicion timeout
	// (no independent confirmation yet) to the minimum (Lifeguard).
	SuspicionMaxTimeoutMult float64
	// SuspicionConfirmations (K) is the number of independent suspicions
	// that shrink the timeout to its minimum (Lifeguard).
	SuspicionConfirmations int
	// RetransmitMult (λ) sets how often each update is piggybacked:
	// λ·⌈log₁₀(n+1)⌉ times.
	RetransmitMult int
	// GossipInterval is how many ticks pass between dedicated gossip frames
	// carrying queued updates to GossipNodes random members (0: updates ride
	// only on probes and on frames of other layers).
	GossipInterval int
	// GossipNodes is the number of members each gossip frame goes to.
	GossipNodes int
	// ReliableLinks says that the transport delivers every frame it
	// accepts (p2p's QUIC streams, not datagrams): each queued update then
	// goes at most once to each member, still to up to λ·⌈log₁₀(n+1)⌉
	// members, never back to a member that sent this one the same record,
	// and stays queued a few gossip rounds for members it has not reached
	// (reliable.go). Off: SWIM's repeats, which carry updates past
	// lost datagrams.
	ReliableLinks bool
	// PushPullInterval is how many ticks pass between full-state exchanges
	// with one random member, for a group of up to 32; it grows with
	// ⌈log₂(n/32)⌉ above that so the total state traffic stays modest.
	// 0 disables periodic push-pull (joins still exchange state).
	PushPullInterval int
	// ReconnectInterval is how many ticks pass between state exchanges
	// (digest-first with DigestSync) with a random member believed failed
	// (not left), so that two halves of a healed partition find each other
	// again. 0 disables it.
	ReconnectInterval int
	// TombstoneTicks is how long a failed or departed member is remembered,
	// so that stale alive updates with its old incarnation are rejected and
	// it can be reconnected to; then it is forgotten (bounded memory).
	TombstoneTicks int
	// JoinRetryInterval is how many ticks a joining member waits for an
	// answer from its seeds before asking them again.
	JoinRetryInterval int
	// JoinSyncs is the number of follow-up full-state exchanges a joining
	// member runs with random live members after its seeds' first answer:
	// the first ProbeInterval/2 ticks later, each next one after twice the
	// previous gap. The seeds' answer holds only what they knew; members
	// that joined at the same time reach a young member otherwise only
	// through gossip or the rare periodic push-pull. 0 disables them.
	JoinSyncs int
	// DigestSync starts periodic and join follow-up exchanges with a
	// digest of 8-byte fingerprints instead of the whole view; the two
	// members then send each other only the entries that differ
	// (digest_sync.go). Joins, AskState and reconnects still exchange
	// whole states.
	DigestSync bool
	// ViewSums puts this member's view sum (how many members it lists
	// alive and a hash of which) on every ping, and starts a digest
	// exchange with a prober whose sum differs on two pings in a row
	// (view_sum.go): a member that gossip missed learns what it lacks
	// within a probe round or two instead of at the next periodic
	// exchange. Off with MemberSample (sampled lists differ by design).
	ViewSums bool
	// StateAnswerGap is the fewest ticks between two full-state answers to
	// the same member (answer_limit.go): a request costs its sender a few
	// bytes and the answer this member's whole view, so a member asking
	// again within the gap is not answered (Stats.StateAnswersLimited).
	// Keep it below ProbeInterval/2 and JoinRetryInterval, the closest an
	// honest member asks one member twice. 0: every request is answered.
	StateAnswerGap int

	// FallbackProbe sends, when a direct probe goes unanswered for
	// ProbeTimeout, a second direct ping (record RecPingFallback, answered
	// with RecAckFallback) beside the ping-reqs, like memberlist's fallback
	// TCP ping. An adapter with a reliable path beside a lossy one sends
	// these frames on the reliable path; on a single lossy path it is one
	// more independent chance. An answer only by this path ends the probe
	// without raising or lowering the local health score.
	FallbackProbe bool
	// ProbeSuspects makes a member that hears that another member
	// suspects X probe X next, out of its round-robin turn (not in SWIM or
	// Lifeguard). Lifeguard shortens a suspicion only as independent
	// confirmations arrive, and in SWIM's round-robin about one member per
	// period happens to probe X: confirmations then take about
	// SuspicionConfirmations periods. Probing suspects at once brings the
	// confirmations of a real failure within about a period, and delivers
	// the suspicion to a live suspect (buddy system) with every probe.
	ProbeSuspects bool
	// SkipHeardNeighbors, with Neighbors set, passes over in the
	// round-robin a neighbour heard from (any frame) within the last
	// ProbeInterval ticks: the frame showed it alive as well as an ack
	// would, so while messages flow over its link the probe is spent
	// elsewhere, or not at all (heard_skip.go). A probe still goes out at
	// least every heardSkipMax+1 periods (view sums, the health score and
	// piggybacked updates ride on probes), and probes of suspects,
	// silent and unreachable members are never skipped.
	SkipHeardNeighbors bool
	// HeardAnswersProbe ends a probe as answered when a frame of its
	// target (any frame) arrived after the ping went out, though its ack
	// did not: no ping-reqs at the timeout, no suspicion at the end of the
	// period (heard_skip.go). The frame came over the target's
	// authenticated connection, so it shows the target alive as well as
	// an ack would; what was lost or late is the ack (or the ping), which
	// is what turns lossy links and busy hosts into false suspicions. A
	// crashed member sends nothing, so its detection is unchanged.
	HeardAnswersProbe bool
	// LocalAccusations, with Neighbors and a Verifier, keeps suspicions
	// between the accuser and the accused: a member sends a suspicion, its
	// own or one it received, to the accused alone, never to the group; a
	// suspicion its own failed probe backs waits the minimum timeout times
	// the local health multiplier; the verdicts (two members' signed dead
	// records, or one and this member's own failed probe) and refutations
	// still go to everyone. A crash then costs each member about two
	// signature checks instead of one per accuser and confirmation, and a
	// false suspicion costs the group only the refutation
	// (local_accusations.go).
	LocalAccusations bool
	// BatchVerdicts, with LocalAccusations and a Signer, signs this
	// member's verdicts of one gossip round together, in one record, so
	// that a member that hears them checks one signature for all
	// (verdict_batch.go).
	BatchVerdicts bool
	// AskVerdicts, with LocalAccusations, has a member that has held one
	// declarer's verdict for two protocol periods without a second ask a
	// neighbour for its own, instead of waiting out Lifeguard's longest
	// timeout (verdict_pull.go).
	AskVerdicts bool
	// AnswerAccusers, with LocalAccusations, has a member that its
	// accuser suspects directly answer that accuser alone, directly,
	// instead of raising its incarnation for the whole group to pass on;
	// the accuser ends its suspicion on the answer. A suspicion no answer
	// can end (relayed, a verdict, or over the limits) is refuted to the
	// group as before (answer.go).
	AnswerAccusers bool
	// DirectVerdicts, with BatchVerdicts, applies a batch of verdicts that
	// arrives from its declarer's own connection without checking its
	// signature (checked only if the batch is to be passed on): the
	// transport authenticates the sender, as Config.HeardAnswersProbe
	// assumes (verdict_batch.go).
	DirectVerdicts bool
	// AliveChains, with a Signer, signs with each alive update the head of
	// a hash chain, so that a refutation reveals the chain's next link
	// instead of carrying a new signature: a member that holds the signed
	// head checks it with one SHA-256 instead of a signature check
	// (alive_chain.go). Members without it read chained updates too;
	// peers of versions before it do not, so a group turns it on
	// together.
	AliveChains bool
	// NewMemberGrace: for this many ticks after a member becomes alive in
	// this member's view (it joined, rejoined, or this member just joined),
	// a suspicion of it waits at least NewMemberSuspicionMult·log₁₀ n
	// periods and brings no out-of-turn probe (ProbeSuspects). Probes of a
	// member whose connections are still being set up fail for reasons
	// that say nothing about the member; the short LAN timeout would
	// declare it dead before its refutation gets through. 0 disables it.
	NewMemberGrace int
	// NewMemberSuspicionMult is the suspicion multiplier during
	// NewMemberGrace (memberlist's 4).
	NewMemberSuspicionMult float64

	// Lifeguard enables the Lifeguard refinements (Dadgar et al. 2018):
	// the local health multiplier, nacks from ping-req helpers, the dynamic
	// suspicion timeout and the buddy system (a probe of a suspect carries
	// the suspicion). Off, the detector is plain SWIM with a fixed
	// suspicion timeout of SuspicionMult·log₁₀ n periods. SWIM as
	// published also has Repair, FallbackProbe and ProbeSuspects off, and
	// memberlist's SuspicionMult of 4 rather than the LAN profile's 1.5
	// (which relies on ProbeSuspects for fast refutation).
	Lifeguard bool
	// AwarenessMaxMultiplier bounds the local health multiplier: probe
	// intervals and timeouts are stretched by at most this factor.
	AwarenessMaxMultiplier int

	// Repair enables two repairs of missed dissemination (not in SWIM or
	// Lifeguard): a member that receives an accusation older than what it
	// knows (the accused, or the member itself, has refuted since) answers
	// the sender directly with the newer alive; and a member holding a
	// suspicion for half the minimum timeout reminds the suspect directly,
	// which answers with its refutation. Gossip reaches every member only
	// with high probability, and a member that missed a refutation would
	// otherwise declare a live member dead when its timer expires.
	Repair bool
	// CorrectionsPerTick bounds the corrections and, separately, the
	// reminders sent per tick.
	CorrectionsPerTick int

	// MaxPacketSize bounds the frames the memberlist builds itself (pings,
	// acks, gossip) and the bytes of updates it piggybacks on frames of
	// other layers.
	MaxPacketSize int
	// MaxStateChunk bounds one full-state frame; larger states are split.
	MaxStateChunk int
	// MaxMetaSize bounds a member's metadata.
	MaxMetaSize int
	// MaxMembers bounds the member table (tombstones included): when full,
	// the oldest tombstone is forgotten, and if there is none the newcomer
	// is refused and counted.
	MaxMembers int
	// MaxQueuedUpdates bounds the dissemination queue; the most transmitted
	// updates are dropped first.
	MaxQueuedUpdates int
	// MaxPendingRelays bounds the ping-reqs this member serves at once;
	// one requester may hold at most maxRelaysPerRequester (2) of them (an
	// honest one probes one member at a time and asks each helper once).
	MaxPendingRelays int
	// Limits bound what the decoder accepts (IDs, signature lengths, frame).
	Limits Limits
}

// Limits bound the membership decoder.
type Limits struct {
	MaxIDLen        int // a member ID, bytes
	MaxMetaSize     int // metadata, bytes
	MaxSigSize      int // a signature, bytes
	MaxStateEntries int // members in one full-state record
}

// DefaultLimits accept every frame a default-configured memberlist builds.
func DefaultLimits() Limits {
	return Limits{MaxIDLen: core.DefaultLimits().MaxIDLen, MaxMetaSize: 512, MaxSigSize: 256, MaxStateEntries: 65536}
}

// DefaultLANConfig is for members in one data centre (round trips well under
// 50 ms). It follows hashicorp/memberlist's LAN profile where that profile is
// backed by the literature, in 100 ms ticks, with a shorter minimum
// suspicion timeout made safe by faster confirmation and refutation
// (ProbeSuspects, the buddy system, Repair). The reasoning and measurements
// behind each value are in docs/membership-lan-profile.md.
func DefaultLANConfig() Config {
	return Config{
		Tick:                    100 * time.Millisecond,
		ProbeInterval:           10,    // 1 s; a crash is first suspected after ~1.6 periods (SWIM's e/(e−1))
		ProbeTimeout:            5,     // half the period direct, half indirect
		IndirectChecks:          3,     // at 10 % loss, ~0.8 % of probes of a healthy member fail
		SuspicionMult:           1.5,   // minimum 1.5·log₁₀ n periods; safe with ProbeSuspects (memberlist: 4)
		SuspicionMaxTimeoutMult: 6,     // an unconfirmed suspicion waits 6× the minimum (Lifeguard)
		SuspicionConfirmations:  3,     // Lifeguard's K: three independent suspicions reach the minimum
		RetransmitMult:          4,     // λ·⌈log₁₀(n+1)⌉: 12 sends at n = 100, 16 at 1,000 (w.h.p. delivery)
		GossipInterval:          2,     // 200 ms: several spreads per period, few small frames
		GossipNodes:             3,     // fan-out of each gossip frame
		PushPullInterval:        300,   // 30 s below 32 members, scaled with log₂ n above
		ReconnectInterval:       300,   // a healed partition re-merges within a minute
		TombstoneTicks:          36000, // 1 h: far longer than any update circulates
		JoinRetryInterval:       20,    // 2 s
		JoinSyncs:               3,     // state again 0.5, 1.5, 3.5 s after the seeds answer
		DigestSync:              true,  // 8 bytes a member, not ~120, when two views agree
		ViewSums:                true,  // 12 bytes a ping; a member gossip missed catches up within a probe round or two
		StateAnswerGap:          4,     // 400 ms: a member asking in a loop gets at most 2.5 views a second
		FallbackProbe:           true,  // a healthy member's probe then fails far less often
		ProbeSuspects:           true,  // confirmation or refutation within about a period
		SkipHeardNeighbors:      true,  // over an overlay, no probe of a neighbour whose frames just arrived
		HeardAnswersProbe:       true,  // a frame of the probed member after the ping answers it as an ack would
		LocalAccusations:        true,  // over an authenticated overlay, a crash costs each member 2.0 signature checks, not 5.7
		AliveChains:             true,  // a refutation costs each member a hash, not a signature check
		BatchVerdicts:           true,  // a wave of crashes costs each member fewer checks (1.45 per victim at n = 1,000, not 2.0)
		AskVerdicts:             true,  // a member a wave's verdicts missed asks for one instead of waiting 27 s
		DirectVerdicts:          true,  // a believer's own verdicts reach its neighbours unchecked: 1.1 checks per victim at n = 1,000, not 1.45
		AnswerAccusers:          true,  // a false suspicion costs an answer to its accuser, not 16,000 sends of a refutation at n = 1,000
		NewMemberGrace:          100,   // 10 s: probes fail while a forming group dials its connections
		NewMemberSuspicionMult:  4,     // memberlist's timeout during the grace
		Lifeguard:               true,  // local health, nacks, dynamic suspicion, buddy system
		Repair:                  true,  // repair members that missed a refutation
		AwarenessMaxMultiplier:  8,     // a sick member slows to one probe per 8 s, not to a halt
		CorrectionsPerTick:      4,     // bounds bursts of corrections and of reminders
		MaxPacketSize:           1400,  // an Ethernet MTU after IP/UDP/QUIC headers
		MaxStateChunk:           60 << 10,
		MaxMetaSize:             512,
		MaxMembers:              100000,
		MaxQueuedUpdates:        4096,
		MaxPendingRelays:        256,
		Limits:                  DefaultLimits(),
	}
}

// DefaultWANConfig is for members spread over the Internet (round trips up
// to a few hundred ms, more loss): the LAN profile with
//
//   - ProbeInterval 50 (5 s), ProbeTimeout 30 (3 s): a 3 s timeout is well
//     above intercontinental round trips and their jitter.
//   - SuspicionMult 6: a false suspicion costs more across the Internet
//     than a slower detection.
//   - GossipInterval 5 (500 ms), GossipNodes 4: fewer, wider gossip rounds.
//   - PushPullInterval 600 (60 s), ReconnectInterval 600, JoinRetryInterval 50.
func DefaultWANConfig() Config {
	c := DefaultLANConfig()
	c.ProbeInterval = 50
	c.ProbeTimeout = 30
	c.SuspicionMult = 6
	c.GossipInterval = 5
	c.GossipNodes = 4
	c.PushPullInterval = 600
	c.ReconnectInterval = 600
	c.JoinRetryInterval = 50
	return c
}

// DefaultLocalConfig is for members on one host or one switch (round trips
// under 1 ms; tests, local testnets): the LAN profile with
//
//   - ProbeTimeout 2 (200 ms): loopback answers in microseconds.
//   - RetransmitMult 3: small groups, reliable links (the suspicion
//     timeout is the LAN one).
//   - GossipInterval 1 (100 ms), PushPullInterval 150 (15 s),
//     ReconnectInterval 150, JoinRetryInterval 10.
func DefaultLocalConfig() Config {
	c := DefaultLANConfig()
	c.ProbeTimeout = 2
	c.RetransmitMult = 3
	c.GossipInterval = 1
	c.PushPullInterval = 150
	c.ReconnectInterval = 150
	c.JoinRetryInterval = 10
	return c
}

func (c *Config) validate() error {
	var errs []error
	req := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	req(c.ID != "", "ID is required")
	req(c.Transport != nil, "Transport is required")
	req(c.Limits.MaxIDLen >= 1 && c.Limits.MaxSigSize >= 0 && c.Limits.MaxStateEntries >= 1 && c.Limits.MaxMetaSize >= 0,
		"Limits must be set (start from DefaultLimits)")
	req(len(c.ID) <= c.Limits.MaxIDLen, "ID is longer than Limits.MaxIDLen")
	req(c.ProbeInterval >= 2, "ProbeInterval must be at least 2 ticks")
	req(c.ProbeTimeout >= 1 && c.ProbeTimeout < c.ProbeInterval, "ProbeTimeout must be at least 1 and below ProbeInterval")
	req(c.IndirectChecks >= 0, "IndirectChecks must not be negative")
	req(c.SuspicionMult > 0 && !math.IsInf(c.SuspicionMult, 0), "SuspicionMult must be positive")
	req(c.SuspicionMaxTimeoutMult >= 1 && !math.IsInf(c.SuspicionMaxTimeoutMult, 0), "SuspicionMaxTimeoutMult must be at least 1")
	req(c.SuspicionConfirmations >= 0, "SuspicionConfirmations must not be negative")
	req(c.RetransmitMult >= 1, "RetransmitMult must be at least 1")
	req(c.GossipInterval >= 0 && c.GossipNodes >= 0, "GossipInterval and GossipNodes must not be negative")
	req(c.GossipInterval == 0 || c.GossipNodes >= 1, "GossipNodes must be at least 1 when GossipInterval is set")
	req(c.PushPullInterval >= 0 && c.ReconnectInterval >= 0, "PushPullInterval and ReconnectInterval must not be negative")
	req(c.TombstoneTicks >= 1, "TombstoneTicks must be at least 1")
	req(c.JoinRetryInterval >= 1, "JoinRetryInterval must be at least 1")
	req(c.JoinSyncs >= 0, "JoinSyncs must not be negative")
	req(c.StateAnswerGap >= 0, "StateAnswerGap must not be negative")
	req(c.NewMemberGrace >= 0 && c.NewMemberSuspicionMult >= 0 && !math.IsInf(c.NewMemberSuspicionMult, 0),
		"NewMemberGrace and NewMemberSuspicionMult must not be negative")
	req(c.AwarenessMaxMultiplier >= 1, "AwarenessMaxMultiplier must be at least 1")
	req(c.CorrectionsPerTick >= 0, "CorrectionsPerTick must not be negative")
	req(c.MaxPacketSize >= 256, "MaxPacketSize must be at least 256")
	req(c.MaxStateChunk >= c.MaxPacketSize, "MaxStateChunk must be at least MaxPacketSize")
	req(c.MaxMetaSize >= 0 && c.MaxMetaSize <= c.Limits.MaxMetaSize, "MaxMetaSize must be within Limits.MaxMetaSize")
	req(len(c.Meta) <= c.MaxMetaSize, "Meta exceeds MaxMetaSize")
	req(c.MaxMembers >= 2, "MaxMembers must be at least 2")
	req(c.MemberSample >= 0 && c.MemberSample < c.MaxMembers, "MemberSample must be within 0 and MaxMembers")
	req(c.MaxQueuedUpdates >= 1, "MaxQueuedUpdates must be at least 1")
	req(c.MaxPendingRelays >= 0, "MaxPendingRelays must not be negative")
	if len(errs) > 0 {
		return fmt.Errorf("grapevine/membership: invalid config: %w", errors.Join(errs...))
	}
	if c.Rand == nil {
		h := fnv.New64a()
		h.Write([]byte("membership"))
		h.Write([]byte(c.ID))
		c.Rand = rand.New(rand.NewPCG(c.Seed, h.Sum64()))
	}
	c.Meta = append([]byte(nil), c.Meta...)
	return nil
}

// logN returns max(1, log₁₀ n).
func logN(n int) float64 {
	return math.Max(1, math.Log10(float64(max(n, 1))))
}

// RetransmitLimit returns λ·⌈log₁₀(n+1)⌉: how many times an update is
// piggybacked in a group of n.
func RetransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(max(n, 1)+1))))
}

// PushPullPeriod returns the full-state exchange period for a group of n:
// interval ticks up to 32 members, then interval·(1+⌈log₂(n/32)⌉).
func PushPullPeriod(interval, n int) int {
	if n <= 32 {
		return interval
	}
	return interval * (1 + int(math.Ceil(math.Log2(float64(n)/32))))
}
