package overlay

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/grapevine-p2p/grapevine/core"
)

// Config configures an Overlay. Start from DefaultConfig and set ID and
// Transport. All durations are in ticks (the owner calls Tick; 100 ms is
// the intended tick, as membership's).
type Config struct {
	// ID is this node's identity and address. Required.
	ID core.NodeID
	// Transport carries frames to peers. Required. Send must not call back
	// into the overlay. Frames go to active neighbours and, for JOIN
	// answers and SHUFFLE_REPLY, to nodes that are not (the adapter opens a
	// short-lived connection or uses datagrams for those).
	Transport core.Transport
	// Rand is the source of all randomness. If nil, one is seeded from Seed
	// and ID.
	Rand *rand.Rand
	Seed uint64

	// ActiveMax is the hard cap of the active view (the connection budget).
	ActiveMax int
	// ActiveMin is the size below which a node asks with high priority
	// (the receiver accepts even when full, evicting a random neighbour).
	ActiveMin int
	// SizeEstimate, if set, returns an estimate of the group size n; the
	// active view then aims at 2·⌈ln n⌉+8 clamped to [ActiveMin, ActiveMax].
	// Without it the target is ActiveMax.
	SizeEstimate func() int
	// ActiveSlack is how many links beyond its target a node accepts
	// without evicting: the target is clamped to ActiveMax−ActiveSlack and
	// requests stop there, while requests, offers and joiners are accepted
	// up to target+ActiveSlack (at most ActiveMax). With no slack every
	// node aims at the same size it accepts, and a grown group is
	// saturated: each joiner's links are made by breaking others' (an
	// eviction, whose node then asks nodes that are nearly all full).
	ActiveSlack int
	// PassiveMax is the cap of the passive view.
	PassiveMax int

	// ARWL is the active random walk length: the TTL a FORWARD_JOIN
	// starts with; the node where it reaches 0 adds the joiner to its
	// active view. PRWL is the TTL at which a node on the walk adds the
	// joiner to its passive view. Received TTLs above ARWL are clamped.
	ARWL, PRWL int
	// JoinWalks is how many FORWARD_JOIN walks a contact starts for one
	// JOIN, through as many of its neighbours (the paper: all of them).
	// Each walk ends in a link offer, and at a node whose view is full an
	// accepted offer evicts a neighbour, who then looks for another: every
	// walk beyond what the joiner needs is churn the whole overlay pays for
	// (dials and handshakes when the links are connections). The joiner
	// fills the rest of its view itself with NEIGHBOR requests. A walk
	// that meets, after ARWL−PRWL hops, a node with room in its view ends
	// there instead of evicting somewhere further on.
	JoinWalks int

	// ShuffleTicks is the mean period of SHUFFLE (each period is drawn
	// uniformly from [ShuffleTicks/2, 3·ShuffleTicks/2) so nodes do not act
	// in lockstep). ShuffleActive (ka) and ShufflePassive (kp) are how many
	// entries of each view a SHUFFLE carries besides the sender; ShuffleTTL
	// is the length of its random walk.
	ShuffleTicks   int
	ShuffleActive  int
	ShufflePassive int
	ShuffleTTL     int
	// ShuffleReplyToNeighbors makes the node where a SHUFFLE's walk ends
	// answer only if the origin is one of its neighbours (it still merges
	// what the walk brought). The paper answers straight to the origin,
	// which over libp2p means a dial and a handshake to a peer the node
	// has no link to, for every shuffle (about 6 connections a minute per
	// peer, p2pscale -n 100); without the answer the origin's passive view
	// still refreshes from the walks that end at it, about one per period.
	ShuffleReplyToNeighbors bool

	// KeepaliveTicks: an active neighbour silent this long is pinged (again
	// every KeepaliveTicks/2 while silent). FailTicks: one silent this long
	// is declared failed and replaced from the passive view.
	KeepaliveTicks int
	FailTicks      int
	// RequestTimeout is how long a NEIGHBOR request waits for its answer;
	// a node that does not answer is dropped from the passive view.
	RequestTimeout int
	// MaxPending bounds NEIGHBOR requests in flight.
	MaxPending int
	// LowPriorityPending bounds NEIGHBOR requests in flight while the
	// active view is at or above ActiveMin (at most MaxPending). In a
	// saturated overlay some nodes always stay a few short of their target,
	// and every request they send a full node is rejected.
	LowPriorityPending int
	// FillBackoffMax caps the wait before the next low-priority NEIGHBOR
	// request, which doubles after each rejection (from one tick).
	FillBackoffMax int
	// RefillJitterTicks, when positive, spreads the replacement of a
	// neighbour that failed (PeerDown) over a random 0 to RefillJitterTicks-1
	// ticks while the active view keeps at least ActiveMin: the members
	// that lose a neighbour to one crash learn of it within the same
	// fraction of a second (SWIM's declaration), and replacing it at once
	// put every one of their dials and handshakes into that moment.
	// Below ActiveMin the request goes at once. 0: at once.
	RefillJitterTicks int
	// JoinRetryTicks: while the active view is empty, or (a few times)
	// while no contact has taken this node's JOIN in, JOIN is sent again
	// to a contact this often.
	JoinRetryTicks int

	// JoinsPerTick bounds the JOINs this node accepts as a contact per tick
	// (each costs ActiveMax FORWARD_JOINs and, when full, an eviction).
	JoinsPerTick int
	// WalksPerPeerPerTick bounds the FORWARD_JOIN and SHUFFLE records one
	// neighbour can make this node handle per tick.
	WalksPerPeerPerTick int
	// EvictionsPerTick bounds how many active neighbours this node evicts
	// per tick to admit high-priority requests and FORWARD_JOIN endpoints.
	EvictionsPerTick int

	// RandomLinkTicks: about this often (jittered between half and one
	// and a half times), a node with at least ActiveMin neighbours asks a
	// member drawn by RandomPeer from the whole group for a link, with high
	// priority (the member evicts one of its neighbours if full, and this
	// node one of its own once it accepts). Joins, walks, shuffles and
	// refills all travel over active links, so an overlay split in two (a
	// flash crowd of joins under loss, a healed network partition) never
	// meets again by itself, and gossip, which runs over the links, stays
	// split with it; a link to a member drawn from the member list joins
	// the parts within a period divided by the smaller part's size. 0 or a
	// nil RandomPeer: never.
	RandomLinkTicks int
	// RandomPeer returns a random member of the group other than this node,
	// from another layer's member list ("" when it knows none).
	RandomPeer func() core.NodeID

	// Limits bounds decoding (MaxIDLen, MaxFrameSize, MaxRecords).
	Limits core.Limits

	// Accept, if set, vets every ID before it enters either view (for
	// instance: a member membership knows and believes alive). Rejected
	// IDs are counted in Stats.Rejected.
	Accept func(core.NodeID) bool
	// OnUp and OnDown report active view changes, so an adapter can open
	// and close connections and the gossip layer can change its peers.
	// They run synchronously and must not call back into the overlay.
	OnUp   func(id core.NodeID)
	OnDown func(id core.NodeID, why Reason)
}

// Reason says why a neighbour left the active view.
type Reason uint8

const (
	Disconnected Reason = iota + 1 // it sent DISCONNECT
	Evicted                        // this node evicted it to admit another
	Failed                         // keepalive timeout, or the owner's PeerDown
	Left                           // this node called Leave
)

func (r Reason) String() string {
	switch r {
	case Disconnected:
		return "disconnected"
	case Evicted:
		return "evicted"
	case Failed:
		return "failed"
	case Left:
		return "left"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// DefaultConfig returns the defaults explained in the package doc.
func DefaultConfig() Config {
	return Config{
		ActiveMax:           16,
		ActiveMin:           8,
		PassiveMax:          96,
		ARWL:                6,
		PRWL:                3,
		JoinWalks:           8,
		ShuffleTicks:        100,
		ShuffleActive:       3,
		ShufflePassive:      4,
		ShuffleTTL:          6,
		KeepaliveTicks:      10,
		FailTicks:           30,
		RequestTimeout:      10,
		MaxPending:          4,
		LowPriorityPending:  4,
		FillBackoffMax:      100,
		JoinRetryTicks:      20,
		JoinsPerTick:        32,
		WalksPerPeerPerTick: 48,
		EvictionsPerTick:    4,
		RandomLinkTicks:     3000, // 5 min: one link (and an eviction at each end) per node every 5 minutes
		Limits:              core.DefaultLimits(),
	}
}

// maxListWire bounds an ID list on the wire, whatever the configuration:
// a decoder rejects longer lists before allocating.
const maxListWire = 64

func (c *Config) validate() error {
	var errs []error
	req := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	req(c.ID != "", "ID is required")
	req(c.Transport != nil, "Transport is required")
	req(c.Limits.MaxIDLen >= 1 && c.Limits.MaxFrameSize >= 64 && c.Limits.MaxRecords >= 1,
		"Limits must be set (start from core.DefaultLimits)")
	req(len(c.ID) <= c.Limits.MaxIDLen, "ID is longer than Limits.MaxIDLen")
	req(c.ActiveMax >= 1, "ActiveMax must be at least 1")
	req(c.ActiveMin >= 1 && c.ActiveMin <= c.ActiveMax, "ActiveMin must be within [1, ActiveMax]")
	req(c.ActiveSlack >= 0 && c.ActiveMax-c.ActiveSlack >= c.ActiveMin, "ActiveSlack must be within [0, ActiveMax-ActiveMin]")
	req(c.PassiveMax >= 1, "PassiveMax must be at least 1")
	req(c.ARWL >= 0 && c.PRWL >= 0 && c.PRWL <= c.ARWL, "ARWL and PRWL must not be negative, PRWL ≤ ARWL")
	req(c.JoinWalks >= 1, "JoinWalks must be at least 1")
	req(c.ShuffleTicks >= 2, "ShuffleTicks must be at least 2")
	req(c.ShuffleActive >= 0 && c.ShufflePassive >= 0 && 1+c.ShuffleActive+c.ShufflePassive <= maxListWire,
		"ShuffleActive+ShufflePassive must be within [0, 63]")
	req(c.ShuffleTTL >= 0, "ShuffleTTL must not be negative")
	// The end of a link with the greater ID pings only after twice
	// KeepaliveTicks of silence (keepalive): it must do so before FailTicks.
	req(c.KeepaliveTicks >= 2 && c.FailTicks > 2*c.KeepaliveTicks, "KeepaliveTicks must be at least 2 and FailTicks above twice it")
	req(c.LowPriorityPending >= 1 && c.LowPriorityPending <= c.MaxPending, "LowPriorityPending must be within [1, MaxPending]")
	req(c.FillBackoffMax >= 1, "FillBackoffMax must be at least 1")
	req(c.RefillJitterTicks >= 0, "RefillJitterTicks must not be negative")
	req(c.RequestTimeout >= 1, "RequestTimeout must be at least 1")
	req(c.MaxPending >= 1, "MaxPending must be at least 1")
	req(c.JoinRetryTicks >= 1, "JoinRetryTicks must be at least 1")
	req(c.RandomLinkTicks >= 0, "RandomLinkTicks must not be negative")
	req(c.JoinsPerTick >= 1 && c.WalksPerPeerPerTick >= 1 && c.EvictionsPerTick >= 0,
		"JoinsPerTick and WalksPerPeerPerTick must be at least 1, EvictionsPerTick not negative")
	if len(errs) > 0 {
		return fmt.Errorf("grapevine/overlay: invalid config: %w", errors.Join(errs...))
	}
	if c.Rand == nil {
		h := fnv.New64a()
		h.Write([]byte("overlay"))
		h.Write([]byte(c.ID))
		c.Rand = rand.New(rand.NewPCG(c.Seed, h.Sum64()))
	}
	return nil
}

// ActiveTarget returns the active view size aimed at for a group of about
// n: 2·⌈ln n⌉+8 clamped to [min, max]. n ≤ 1 gives max.
func ActiveTarget(n, min, max int) int {
	t := max
	if n > 1 {
		t = 2*int(math.Ceil(math.Log(float64(n)))) + 8
	}
	if t > max {
		t = max
	}
	if t < min {
		t = min
	}
	return t
}
