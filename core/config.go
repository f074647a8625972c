package core

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Mode selects how the engine disseminates.
type Mode uint8

const (
	// PushPull pushes new messages and pulls what is missing every round:
	// log₃ n + O(log log n) rounds (Karp et al., FOCS 2000), and pull repairs
	// whatever push lost.
	PushPull Mode = iota
	// Push only: each informed node sends hot messages to Fanout random
	// targets per round. log₂ n + ln n rounds with fanout 1 (Pittel 1987).
	Push
	// Pull only: each node asks random peers for what it lacks. Slow start,
	// fast endgame (p_{i+1} ≈ p_i²).
	Pull
)

func (m Mode) String() string {
	switch m {
	case Push:
		return "push"
	case Pull:
		return "pull"
	case PushPull:
		return "push-pull"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses "push", "pull" or "push-pull".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "push":
		return Push, nil
	case "pull":
		return Pull, nil
	case "push-pull", "pushpull":
		return PushPull, nil
	}
	return 0, fmt.Errorf("unknown gossip mode %q (want push, pull or push-pull)", s)
}

// Policy chooses which hot messages a round carries when more are hot than
// the round's budget allows.
type Policy uint8

const (
	// Random picks a uniformly random subset: every hot message gets an
	// equal chance each round, so none starves.
	Random Policy = iota
	// Recent picks the most recently received first: fresh news spreads
	// fastest, old messages are left to pull.
	Recent
	// Priority picks the highest Message.Priority first, most recent among
	// equals.
	Priority
)

func (p Policy) String() string {
	switch p {
	case Random:
		return "random"
	case Recent:
		return "recent"
	case Priority:
		return "priority"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy parses "random", "recent" or "priority".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "random":
		return Random, nil
	case "recent":
		return Recent, nil
	case "priority":
		return Priority, nil
	}
	return 0, fmt.Errorf("unknown selection policy %q (want random, recent or priority)", s)
}

// Config configures an Engine. DefaultConfig documents and justifies every
// default; start from it and change what you need.
type Config struct {
	// ID is this node's identity. Required.
	ID NodeID
	// Sampler supplies gossip targets and the group size estimate. Required.
	Sampler PeerSampler
	// Transport sends encoded frames. Required.
	Transport Transport
	// App receives deliveries. Optional (nil discards them).
	App Application
	// Validator vets every message before it is stored, delivered or
	// forwarded. Optional.
	Validator Validator
	// Penalizer receives the offences this engine attributes to the peer
	// that sent a frame: OffenceMalformed for a frame that does not decode,
	// OffenceInvalidMessage for a message the Validator rejects. Optional
	// (nil: no reporting).
	Penalizer Penalizer
	// Signer authenticates this node's own messages at publish. Optional.
	Signer Signer
	// Piggyback may append records (membership updates) to outgoing
	// frames. Optional.
	Piggyback Piggybacker

	// Rand is the source of all randomness. If nil, one is seeded from Seed
	// and ID, so runs are reproducible.
	Rand *rand.Rand
	// Seed seeds Rand when Rand is nil.
	Seed uint64

	// Mode is push, pull or push-pull.
	Mode Mode
	// Fanout (b) is the number of targets a node pushes its hot messages
	// to each round, and the number of eager-push targets on first receipt.
	Fanout int
	// Rounds is how many rounds a node keeps pushing a message after it
	// first received it. If 0, it is ⌈RoundsFactor·⌈ln n⌉⌉ for the current
	// group size estimate n.
	Rounds int
	// RoundsFactor is c in c·⌈ln n⌉; used when Rounds is 0.
	RoundsFactor float64
	// EagerPush forwards a message to Fanout targets at once on first
	// receipt, so latency is per-hop rather than per-round.
	EagerPush bool
	// DistinctTargets draws a round's targets without repetition. False is
	// the classic analysis's model (independent draws, may repeat).
	DistinctTargets bool
	// PullFanout is how many peers a node asks each pull round.
	PullFanout int
	// PullEvery is how many rounds pass between pull requests (1: every round).
	PullEvery int
	// PullMinAge is how many ticks a message must have been held before it
	// is sent in answer to a pull request (0: at once). A message received
	// a moment ago is most likely on its way to the requester too, along
	// the push path; answering with it costs a second copy. Repair of a
	// message lost on that path waits this much longer.
	PullMinAge int
	// PullIdleMax, above 1, lets a node whose seen-state has not changed
	// since its last pull digest wait twice as long before the next, up
	// to this many pull periods (pull_idle.go): an idle group's digests
	// find nothing. Any change, or a peer's digest listing a message this
	// node lacks, brings it back to every period. 0 or 1: every period.
	PullIdleMax int

	// Policy picks hot messages when the round's budget is too small.
	Policy Policy
	// MaxRoundMessages and MaxRoundBytes bound what one round pushes to
	// one target (messages and payload bytes); also a pull response.
	MaxRoundMessages int
	MaxRoundBytes    int
	// MaxPeerBytesPerRound bounds all bytes sent to one peer per round
	// (push, pull responses, IWANT answers); excess is dropped and counted.
	MaxPeerBytesPerRound int
	// MaxInboundPerPeerPerRound bounds the messages accepted from one peer
	// per round; excess is dropped and counted (a flood from one peer).
	MaxInboundPerPeerPerRound int

	// LazyThreshold: messages whose payload exceeds it are pushed as IHAVE
	// announcements to all but LazyBodyFanout eager targets; receivers pull
	// the body with IWANT, so each node receives the body about once.
	// 0 disables lazy push.
	LazyThreshold int
	// LazyBodyFanout is how many eager targets still get a large body.
	LazyBodyFanout int
	// IWantTimeout is how many ticks to wait for a requested body before
	// asking the next announcer.
	IWantTimeout int
	// IWantDelay is how many ticks to wait after a first announcement of
	// an unknown message before asking for its body (0: ask at once). With
	// tree push the body is usually on its way; waiting saves a second copy
	// (Plumtree's timer, Leitão et al., SRDS 2007).
	IWantDelay int
	// IWantDelayCalls, when positive, times Plumtree's timer finer than a
	// tick for adapters that call ResendUnanswered: the first IWANT for an
	// announced message goes out after that many calls (treeack.go) if the
	// body has not arrived by then, instead of after IWantDelay ticks
	// (which stays the bound when the calls stop). At p2p's 10 ms between
	// calls on a LAN, p2p's 5 asks 40-50 ms after the announcement, where
	// two 100 ms ticks asked 100-200 ms after it: a body lost with an eager
	// neighbour that crashed silently cost every member below it that
	// wait (bench's silent rows: max 200 ms against GossipSub's 27 ms).
	// 0: off (the simulator's analyses time wants in ticks).
	IWantDelayCalls int
	// MaxPendingWants bounds outstanding IWANT requests.
	MaxPendingWants int
	// GapWantDelay turns on gap wants when positive (gapwant.go): a
	// message above the highest sequence number seen of its origin makes
	// the node ask its sender, then the origin, for the (at most 8) numbers
	// in between, GapWantDelay ticks later unless they arrived meanwhile.
	// It repairs a body lost or swallowed in a stream at the next tick
	// instead of the next announcement or pull round. Off by default: the
	// simulator's analyses measure push and pull alone.
	GapWantDelay int

	// TreeFanout turns on tree push when it is positive and the Sampler is
	// a PeerLister: on first receipt a body goes to at most TreeFanout
	// children of a per-message spanning tree that every member derives
	// from its own view (see tree.go), instead of to Fanout random targets;
	// a message that arrives outside the tree (pull, IWANT) is not pushed
	// on. Rounds, lazy announcements and pull work as without it and repair
	// what the tree misses (members absent from some view, dead members'
	// subtrees). Off by default: the simulator's analyses assume random
	// targets, and a tree needs every member's view of the group.
	TreeFanout int

	// TreeAckTicks turns on acknowledged tree push when positive (with
	// TreeFanout; treeack.go): for its first TreeAckTicks ticks, and for
	// TreeAckTicks ticks after this node saw loss (a message that reached it outside the tree, a gap in an
	// origin's sequence numbers, or a tree body of its own unacknowledged
	// after a resend), or after a peer acknowledged unasked, the tree
	// bodies it sends ask for an acknowledgement and those not
	// acknowledged are sent again to the same child, twice, then to the
	// next member of the child's arc (the adapter's ResendUnanswered
	// decides when, after a timeout that follows the acknowledgements'
	// round trip; Tick after two ticks if the adapter never calls it), and
	// it acknowledges every tree body it receives. A lost tree body then
	// costs its subtree a retransmission timeout (tens of milliseconds)
	// instead of an announcement round, IWantDelay and often IWantTimeout.
	// p2p's profiles use 50 (5 s at 100 ms ticks): under make demo's 10 %
	// frame loss p99 fell from about 1 s to under 100 ms, and without loss
	// nothing is acknowledged, so bytes per delivery of the N = 50 bench
	// stayed the same (docs/benchmarks/loss-tail.md). Off by default: the
	// simulator's analyses measure the unacknowledged tree.
	TreeAckTicks int
	// TreeAckProbeTicks, with TreeAckTicks, puts tree children on
	// probation: a child that has not acknowledged a tree body within the
	// last TreeAckProbeTicks ticks is asked to acknowledge the next one it
	// is sent (so an honest child acknowledges about one body per
	// TreeAckProbeTicks per sender, and only while bodies flow to it). A
	// member that takes bodies and never reads them (issue 13's stalling
	// member) never acknowledges: every body sent to it is then asked for,
	// resent twice and handed to the next member of its arc within a few
	// acknowledgement timeouts. Without it a body a staller swallowed cost
	// its subtree a gap want or an announcement round until the service
	// score, which learns of a staller from its pull digests (about one in
	// 11 s at N = 12), steered tree push around it. p2p's profiles use 50.
	// 0: off.
	TreeAckProbeTicks int
	// FastWantRetries is how many times a requested body that has not
	// arrived is asked for again, of the next announcer, by the adapter's
	// ResendUnanswered after the same timeout (treeack.go), before
	// IWantTimeout takes over; the retries do not count against the asks
	// made before a want is given up. p2p's profiles use 2: what the tree
	// still misses under loss does not wait IWantTimeout (500 ms on a LAN)
	// for a lost IWANT or answer (docs/benchmarks/loss-tail.md). Off by
	// default (0): the simulator has no time finer than a tick.
	FastWantRetries int

	// Plumtree turns on Plumtree push when the Sampler is a NeighborLister
	// (an overlay's neighbours): first receipt and Publish send the body to
	// the eager neighbours and IHAVE to the lazy ones, instead of tree push
	// or EagerPush; TreeFanout is then ignored (see plumtree.go). Off by
	// default: it needs an overlay sampler.
	Plumtree bool
	// EagerMin is the fewest eager links a node keeps under Plumtree: a
	// duplicate over an eager link does not prune it when only EagerMin
	// eager links remain (nor obeys a PRUNE then), so each member keeps a
	// spare eager path for the tail under loss. Default 2: in
	// testnet/cmd/plumexp (n = 1,000, degree ~16, 5 origins) it gave p99
	// 278 ms without loss and 357 ms (1.3×) under 10 % loss, against 394 and
	// 546 ms with 0, and fewer prune/graft flips (27,592/19,112 against
	// 62,785/68,630), for 2.35 body copies per delivery against 2.02 (see
	// docs/benchmarks/plumtree.md). Use IWantDelay of a few one-way trips
	// with Plumtree, or lazy links graft before the eager body arrives.
	EagerMin int
	// PlumLazyFanout bounds how many lazy neighbours a node announces a
	// message to on first receipt under Plumtree (0: all of them, as in
	// the paper). Each announcement to a neighbour is a frame of its own
	// at that moment, and a node missing the body hears of it from any of
	// its neighbours that chose it, so a few random ones suffice.
	PlumLazyFanout int
	// PlumRepair repairs Plumtree links left one-way by a PRUNE that its
	// receiver refused at its floor of eager links: the pruner reads a
	// further duplicate from the refuser as the refusal and pushes to it
	// again, so links end eager both ways or lazy both ways
	// (plumtree_repair.go). Off by default. With EagerMin 3 it costs about
	// the bytes of EagerMin 2 without it, for a p99 near EagerMin 3's
	// (testnet/cmd/stackexp -plum-repair -eager-min 3); with EagerMin 2 it
	// saves bytes and makes the tree deeper.
	PlumRepair bool
	// EagerMinPlusShare is the share of members (chosen by a hash of their
	// ID) whose floor is EagerMin+1 eager links instead of EagerMin: a
	// floor between two whole numbers. 0 by default.
	EagerMinPlusShare float64
	// PlumRoundsAfterLoss, when positive, lets a node under Plumtree send
	// the per-round announcements (Rounds, Fanout: push.go) only within
	// this many ticks after it last saw loss: it asked for a body (an
	// IWANT: an announced message the eager path did not bring in time, or
	// a gap in an origin's numbers), or a neighbour link went away. The
	// rest of the time Plumtree's own announcements on first receipt
	// (PlumLazyFanout) are the only ones. 0 (the default): every round
	// announces, as without Plumtree.
	PlumRoundsAfterLoss int
	// PlumAnnounceDelayCalls, when positive, defers Plumtree's
	// announcements on first receipt by that many ResendUnanswered calls
	// (at most a tick when the calls stop) and chooses the lazy neighbours
	// to announce to per link, by a hash both ends agree on, so that of
	// the two ends of a chosen link the one that got the message first
	// announces and the other, having heard that announcement, does not
	// (plumtree_announce.go). A neighbour that announced or sent the message
	// meanwhile is never announced to. Set IWantDelayCalls that much
	// shorter: the delay already gives the eager body its head start.
	// 0 (the default): announce at once to PlumLazyFanout random lazy
	// neighbours.
	PlumAnnounceDelayCalls int
	// WantRTT lets the answer to a body's first ask sample the round trip
	// that times FastWantRetries (ackRTO; Karn's rule: only a body asked
	// once of the member that answered), and counts each fast retry
	// towards ackRTO's backoff, as an unacknowledged tree body's resend
	// does. Under Plumtree no tree body is acknowledged, so without it
	// ackRTO never learns and retries go after two calls, before a busy
	// neighbour's answer (treeack.go's sampleWantRTT). Off by default.
	WantRTT bool

	// MaxMessageSize bounds a payload, on publish and on receipt.
	MaxMessageSize int
	// MaxStoreMessages and MaxStoreBytes bound the message store (what pull
	// and IWANT are answered from); the oldest are evicted first.
	MaxStoreMessages int
	MaxStoreBytes    int
	// StoreTTL is how many ticks a message stays in the store.
	StoreTTL int
	// SeenTTL is how many ticks an origin's seen-state survives without
	// news from that origin; MaxOrigins bounds how many origins are tracked.
	SeenTTL    int
	MaxOrigins int
	// NewOriginBurst and NewOriginsPerRound are each peer's budget of new
	// origins (origins this node tracks no state for), a token bucket of
	// NewOriginBurst refilled by NewOriginsPerRound a round: messages of
	// new origins from a peer over it are dropped unverified
	// (Stats.OriginsOverBudget) and the peer reported with OffenceFlood.
	// A peer's own messages are never charged. 0: no budget (the
	// default). Caution (origin_budget.go): honest members relay what they
	// accepted, so attackers feeding one member from several hosts can
	// push that member over its budget at the others.
	NewOriginBurst     int
	NewOriginsPerRound int
	// HoldUnknownTicks is how long a message whose origin the Validator's
	// OriginGate does not know yet is held and asked about again
	// every tick before it is dropped and its sender reported with
	// OffenceUnknownOrigin; MaxHeldUnknown and MaxHeldUnknownBytes bound
	// the messages held (each sender may fill a quarter), beyond them such
	// messages are dropped at once (HoldStats.Dropped). 0: never held,
	// dropped at once unreported. Only a Validator implementing OriginGate
	// makes any of this happen (unknown_origin.go).
	HoldUnknownTicks    int
	MaxHeldUnknown      int
	MaxHeldUnknownBytes int
	// MaxAbove bounds, per origin, the sequence numbers held above the
	// contiguous watermark (the seen-set's out-of-order part).
	MaxAbove int
	// GapTimeout is how many ticks a node keeps trying to pull a missing
	// run of sequence numbers before giving it up (counted in
	// Stats.GapsAbandoned). The first message seen from an origin whose
	// numbering does not start at 1 (a clock-based FirstSeq) opens such a
	// gap below it: pull fetches whatever of that history peers still hold.
	GapTimeout int
	// MaxDigestOrigins and MaxDigestAbove bound a pull request. A digest
	// that lists fewer sequence numbers than the node holds above its
	// watermark makes peers resend the unlisted ones, so MaxDigestAbove
	// defaults to MaxAbove; consecutive numbers cost one byte each.
	MaxDigestOrigins int
	MaxDigestAbove   int

	// FIFO delivers each origin's messages in sequence order, holding back
	// out-of-order ones until the gap fills or FIFOTimeout ticks pass.
	FIFO        bool
	FIFOTimeout int
	// FIFOStart is how many ticks the first message of an origin this node
	// has no delivery cursor for waits for earlier ones (sent along another
	// path) before its origin's order starts at the lowest held: without
	// it (0) the first message to arrive starts the order and an earlier
	// one overtaken in flight is never delivered (Stats.FIFOLate). A
	// message marked First (its origin's FirstSeq: nothing of that
	// numbering precedes it) starts the order at once, so only a node that
	// joins while an origin is already publishing pays the wait, once per
	// origin (Stats.FIFOStartedFirst counts the origins that did not).
	FIFOStart int
	// MaxHeld bounds messages held back per origin in FIFO mode.
	MaxHeld int
	// MaxHeldBytes bounds the payload bytes held back over all origins in
	// FIFO mode; beyond it the receiving origin's first gap is given up
	// (reported lost, Stats.HeldBytesOverflow).
	MaxHeldBytes int

	// RoundTicks is how many ticks make one gossip round (1: every Tick).
	RoundTicks int
	// FirstSeq is the first sequence number this node publishes with.
	// Adapters should make it grow across restarts (e.g. from the clock) so
	// a restarted node's messages are not mistaken for ones already seen.
	FirstSeq uint64
	// KeepFrames says the caller hands every frame given to Step or
	// StepFrame over to the engine and never modifies it afterwards (an
	// adapter that reads each frame into a fresh buffer), so a new message
	// is stored aliasing its frame instead of being copied: one copy less
	// of every payload. Off by default.
	KeepFrames bool
	// MaxFrameSize bounds an encoded frame; larger sends are split.
	MaxFrameSize int
	// Limits bound what the decoder accepts.
	Limits Limits
}

// DefaultConfig returns a Config with every default set. ID, Sampler and
// Transport must still be filled in.
//
//   - Mode PushPull: push spreads fast early, pull finishes the endgame and
//     repairs losses; the pair needs log₃ n + O(log log n) rounds.
//   - Fanout 3 and RoundsFactor 1: with c·b = 3 the residue after push alone
//     is about 1/n^(cb−2) = 1/n (Gupta), and pull removes the rest.
//   - EagerPush on: a message crosses the group in hops, not rounds.
//   - PullFanout 1, PullEvery 1: one request per round is Karp et al.'s model.
//   - Policy Recent, 64 messages / 256 KiB per round and target: fresh news
//     first; older messages are completed by pull.
//   - MaxPeerBytesPerRound 4 MiB, MaxInboundPerPeerPerRound 1,024: above any
//     honest burst, low enough that one peer cannot swamp a node.
//   - LazyThreshold 2 KiB, LazyBodyFanout 1: above a few packets, an
//     announcement costs far less than a redundant copy.
//   - MaxMessageSize 1 MiB, as GossipSub's default.
//   - TreeAckTicks 0, FastWantRetries 0: off; they need an adapter with a
//     clock finer than a tick (p2p turns them on).
//   - EagerMin 2 (used only with Plumtree): one spare eager path per node
//     for the tail under loss, at most about two body copies per delivery.
//   - Store 10,000 messages / 64 MiB for 300 ticks; seen-state 600 ticks for
//     up to 10,000 origins: bounded, and long enough for pull to repair.
func DefaultConfig() Config {
	return Config{
		Mode:                      PushPull,
		Fanout:                    3,
		RoundsFactor:              1,
		EagerPush:                 true,
		DistinctTargets:           true,
		PullFanout:                1,
		PullEvery:                 1,
		Policy:                    Recent,
		MaxRoundMessages:          64,
		MaxRoundBytes:             256 << 10,
		MaxPeerBytesPerRound:      4 << 20,
		MaxInboundPerPeerPerRound: 1024,
		LazyThreshold:             2048,
		LazyBodyFanout:            1,
		IWantTimeout:              2,
		EagerMin:                  2,
		MaxPendingWants:           4096,
		MaxMessageSize:            1 << 20,
		MaxStoreMessages:          10000,
		MaxStoreBytes:             64 << 20,
		StoreTTL:                  300,
		SeenTTL:                   600,
		MaxOrigins:                10000,
		HoldUnknownTicks:          30,
		MaxHeldUnknown:            1024,
		MaxHeldUnknownBytes:       16 << 20,
		MaxAbove:                  1024,
		GapTimeout:                60,
		MaxDigestOrigins:          256,
		MaxDigestAbove:            1024,
		FIFO:                      false,
		FIFOTimeout:               30,
		MaxHeld:                   1024,
		MaxHeldBytes:              64 << 20,
		RoundTicks:                1,
		FirstSeq:                  1,
		MaxFrameSize:              (1 << 20) + (64 << 10),
		Limits:                    DefaultLimits(),
	}
}

// validate checks a Config and fills its derived fields.
func (c *Config) validate() error {
	var errs []error
	req := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	req(c.ID != "", "ID is required")
	req(c.Sampler != nil, "Sampler is required")
	req(c.Transport != nil, "Transport is required")
	req(c.Mode <= Pull, "Mode must be Push, Pull or PushPull")
	req(c.Policy <= Priority, "Policy must be Random, Recent or Priority")
	req(c.Fanout >= 1, "Fanout must be at least 1")
	req(c.Rounds >= 0, "Rounds must not be negative")
	req(c.Rounds > 0 || (c.RoundsFactor > 0 && !math.IsInf(c.RoundsFactor, 0)), "RoundsFactor must be positive when Rounds is 0")
	req(c.PullFanout >= 1, "PullFanout must be at least 1")
	req(c.PullEvery >= 1, "PullEvery must be at least 1")
	req(c.PullMinAge >= 0, "PullMinAge must not be negative")
	req(c.PullIdleMax >= 0, "PullIdleMax must not be negative")
	req(c.MaxRoundMessages >= 1 && c.MaxRoundBytes >= 1, "MaxRoundMessages and MaxRoundBytes must be positive")
	req(c.MaxPeerBytesPerRound >= 1, "MaxPeerBytesPerRound must be positive")
	req(c.MaxInboundPerPeerPerRound >= 1, "MaxInboundPerPeerPerRound must be positive")
	req(c.LazyThreshold >= 0 && c.LazyBodyFanout >= 0, "LazyThreshold and LazyBodyFanout must not be negative")
	req(c.EagerMin >= 0, "EagerMin must not be negative")
	req(c.PlumLazyFanout >= 0, "PlumLazyFanout must not be negative")
	req(c.EagerMinPlusShare >= 0 && c.EagerMinPlusShare <= 1, "EagerMinPlusShare must be within [0, 1]")
	req(c.PlumRoundsAfterLoss >= 0, "PlumRoundsAfterLoss must not be negative")
	req(c.PlumAnnounceDelayCalls >= 0, "PlumAnnounceDelayCalls must not be negative")
	req(c.TreeAckProbeTicks >= 0, "TreeAckProbeTicks must not be negative")
	req(c.TreeAckTicks >= 0 && c.FastWantRetries >= 0 && c.FastWantRetries < 256, "TreeAckTicks and FastWantRetries must not be negative (FastWantRetries below 256)")
	req(c.IWantDelayCalls >= 0, "IWantDelayCalls must not be negative")
	req(c.TreeFanout >= 0 && c.IWantDelay >= 0 && c.GapWantDelay >= 0, "TreeFanout, IWantDelay and GapWantDelay must not be negative")
	req(c.IWantTimeout >= 1 && c.MaxPendingWants >= 1, "IWantTimeout and MaxPendingWants must be positive")
	req(c.MaxMessageSize >= 1, "MaxMessageSize must be positive")
	req(c.MaxStoreMessages >= 1 && c.MaxStoreBytes >= 1 && c.StoreTTL >= 1, "store limits must be positive")
	req(c.NewOriginBurst <= 0 || c.NewOriginsPerRound >= 0, "NewOriginsPerRound must not be negative")
	req(c.HoldUnknownTicks >= 0 && c.MaxHeldUnknown >= 0 && c.MaxHeldUnknownBytes >= 0, "hold limits of unknown origins must not be negative")
	req(c.SeenTTL >= 1 && c.MaxOrigins >= 1 && c.MaxAbove >= 1 && c.GapTimeout >= 1, "seen-set limits must be positive")
	req(c.MaxDigestOrigins >= 1 && c.MaxDigestAbove >= 0, "digest limits must be positive")
	req(c.FIFOTimeout >= 1 && c.MaxHeld >= 1 && c.MaxHeldBytes >= 1 && c.FIFOStart >= 0, "FIFO limits must be positive")
	req(c.RoundTicks >= 1, "RoundTicks must be at least 1")
	req(c.FirstSeq >= 1, "FirstSeq must be at least 1")
	req(c.MaxMessageSize <= c.Limits.MaxMessageSize, "MaxMessageSize must not exceed Limits.MaxMessageSize")
	req(c.MaxFrameSize >= c.MaxMessageSize+1024 && c.MaxFrameSize <= c.Limits.MaxFrameSize,
		"MaxFrameSize must hold one largest message and fit Limits.MaxFrameSize")
	req(c.MaxDigestOrigins <= c.Limits.MaxDigestEntries && c.MaxDigestAbove <= c.Limits.MaxDigestAbove &&
		c.MaxDigestOrigins*c.MaxDigestAbove <= c.Limits.MaxKeys,
		"a full digest (MaxDigestOrigins × MaxDigestAbove) must fit Limits.MaxDigestEntries, MaxDigestAbove and MaxKeys")
	req(len(c.ID) <= c.Limits.MaxIDLen, "ID is longer than Limits.MaxIDLen")
	if len(errs) > 0 {
		return fmt.Errorf("grapevine/core: invalid config: %w", errors.Join(errs...))
	}
	if c.Rand == nil {
		h := fnv.New64a()
		h.Write([]byte(c.ID))
		c.Rand = rand.New(rand.NewPCG(c.Seed, h.Sum64()))
	}
	return nil
}

// RoundsFor returns ⌈c·⌈ln n⌉⌉, at least 1: the number of rounds a message
// stays hot in a group of n.
func RoundsFor(c float64, n int) int {
	if n < 2 {
		n = 2
	}
	r := int(math.Ceil(c * math.Ceil(math.Log(float64(n)))))
	if r < 1 {
		r = 1
	}
	return r
}
