// Package overlay is a HyParView membership overlay (Leitão, Pereira and
// Rodrigues, "HyParView: a membership protocol for reliable gossip-based
// broadcast", DSN 2007): every node keeps a small, symmetric active view,
// the peers it holds connections to and gossips with, and a larger passive
// view of addresses it can promote when a neighbour fails. It is the
// bounded-connection layer of issue 14: a node's connection count is its
// active view, whatever the group size.
//
// Like core and membership it is a pure, deterministic state machine: no
// sockets, goroutines, clocks or global randomness. Time is ticks (the
// owner calls Tick; 100 ms intended), randomness comes from Config.Rand,
// input arrives through Step (or StepFrame for a frame the owner decoded)
// and output leaves through Config.Transport's Send, one frame per
// destination per call. Neighbour changes are reported through Config.OnUp
// and OnDown so an adapter opens and closes connections and the gossip
// layer changes its peers.
//
// # Protocol
//
// Join. A new node sends JOIN to a contact. The contact sends
// FORWARD_JOIN(joiner, ARWL) to each of its neighbours. Each FORWARD_JOIN
// walks at random over active links, its TTL falling by one a hop; the node
// at TTL PRWL puts the joiner in its passive view, and the node at TTL 0
// (or with no other neighbour) links up with it. Unlike the paper, where
// that node adds the joiner outright, it offers the link (NEIGHBOR with the
// offer flag) and adds the joiner, evicting a random neighbour if full,
// only when the joiner accepts: a walk is only the claim of the neighbour
// that forwarded it, and a hostile neighbour must not fill the view with
// IDs that never answer. A joiner therefore gets up to one neighbour per
// neighbour of its contact, spread over the group. The contact itself
// links up with the joiner only if it has room; the paper's contact always
// does, evicting a neighbour, which for a bootstrap node means a new
// neighbour with every join and, since evicted nodes keep their evicter as
// a passive entry, a place in nearly every passive view (983 of 1,000 in
// our simulation, against 139 now), the target of a large share of all
// NEIGHBOR requests after a failure. A joiner retries JOIN every
// JoinRetryTicks while it has no neighbour, and up to six times while no
// contact has taken its JOIN in (an accepting reply or an offer from one of
// its walks): others may have joined through it while its own JOIN was lost,
// and they would otherwise form an overlay of their own. A contact walks
// for the same joiner at most once in that time.
//
// Repair. A neighbour is lost when it sends DISCONNECT (it goes to the
// passive view), when the owner calls PeerDown (a closed connection, or
// SWIM declaring it dead), or when the overlay's own keepalive finds it
// silent: an active neighbour not heard from for KeepaliveTicks is pinged,
// and one silent for FailTicks is dropped, so a peer that crashes silently
// (its packets vanish, no connection closes) is found in FailTicks. Any
// frame from a neighbour counts (the owner reports traffic of other layers
// with Heard), and on a quiet link only the end with the smaller ID pings
// at first, so a link costs one ping and one pong per KeepaliveTicks. The
// active view is refilled from random passive entries with NEIGHBOR
// requests: high priority while below ActiveMin (the receiver accepts even
// when full, evicting a random neighbour; the paper uses high priority
// only for an empty view, a minimum is what the gossip fanout needs), low
// priority above it (accepted only below the receiver's target). A
// rejection keeps the entry, a request unanswered for RequestTimeout drops
// it, and after a rejected low-priority request the next waits, doubling up
// to ShuffleTicks, so the few nodes one short of a full view in a saturated
// overlay do not ask full nodes over and over; a rejected high-priority
// request is followed by the next one only a tick later.
//
// Slack. With ActiveSlack a node aims at ActiveSlack fewer neighbours than
// it accepts: it stops asking at the target (at most ActiveMax−ActiveSlack)
// but takes requests, offers and joiners without evicting up to
// target+ActiveSlack. Without it, once the group is large enough for every
// target to reach ActiveMax, the overlay is saturated: a joiner's links can
// only be made by evicting other nodes' neighbours, and the evicted, one
// short, ask passive entries that are nearly all full (stackexp -n 1000
// -join-rate 2: 21.5 NEIGHBOR requests per node while joining, 19 of them
// rejected). With slack an evicted node is still at or above its target
// and asks nobody, and a node two or more short of its target (and at
// least ActiveMin) asks with high priority, turning what would be a
// rejection into a link. A join walk that ends at a node holding its
// target splices the joiner into one of its links (SPLICE, splice.go):
// once the joiner takes the offer, the node drops a random neighbour and
// names the joiner to it, and that neighbour asks the joiner for a link;
// both keep their sizes and the joiner gains two neighbours, so views stay
// near the target as the group grows instead of drifting up to the cap. The package default is 0; Grapevine's p2p
// profile uses 4 (aim 12, accept 16). A ping from a node that is
// not a neighbour (one end missed a DISCONNECT or an answer) makes the
// receiver take the link if it has room and answer DISCONNECT otherwise,
// so links become symmetric again under loss.
//
// Shuffle. Every ShuffleTicks on average a node sends SHUFFLE(itself, ka
// active and kp passive entries) on a random walk of ShuffleTTL hops; the
// node where it ends answers the origin directly with as many passive
// entries (SHUFFLE_REPLY, matched by a random nonce), and both merge what
// they got into their passive views, evicting first the entries they sent.
// This keeps passive views mixed and refreshed; a node whose passive view
// runs dry shuffles early.
//
// Beyond the paper: the group. Joins, walks, shuffles and refills all travel
// over active links, so an overlay split in two (a partition that healed, a
// flash crowd of joins under loss) never meets again by itself. With
// Config.RandomPeer (a random member from another layer's list of the whole
// group), a node links to such a member every RandomLinkTicks or so, with
// high priority, and a node whose passive view has no candidate left asks
// one (not within JoinRetryTicks of its JOIN, whose walks come first).
//
// # Defaults and why
//
// The paper sizes the active view log₁₀ n + 1 (5 at n = 10,000, fanout 4
// plus the link a message came over) and the passive view 6 times that
// (30), with ARWL 6, PRWL 3, ka 3, kp 4. Grapevine runs Plumtree-style tree
// and lazy push over the active view and wants the overlay to stay
// connected with margin after large failures, so it keeps more links:
//
//   - ActiveMax 16: the connection budget. With SizeEstimate set the target
//     is 2·⌈ln n⌉+8 clamped to [ActiveMin, ActiveMax] (issue 14's rule; it
//     reaches 16 at n ≈ 55, so smaller groups hold fewer connections).
//     Issue 14 caps connections per peer at 32; 16 leaves room for
//     short-lived connections (shuffle replies, joins) and for SWIM probes.
//   - ActiveMin 8: half the budget. A node below it asks with high
//     priority. After half the group crashes the average survivor is left
//     with 8, so repair is urgent exactly then.
//   - PassiveMax 96: the paper's 6× the active view.
//   - ARWL 6, PRWL 3, ShuffleActive 3, ShufflePassive 4: the paper's.
//     ShuffleTTL 6: a shuffle walks as far as a join.
//   - ShuffleTicks 100 (10 s): passive entries are refreshed every few
//     shuffles; the paper's simulation shuffles once per cycle, and a cycle
//     here is far longer than a message's spread.
//   - KeepaliveTicks 10, FailTicks 30 (1 s and 3 s at 100 ms ticks): a
//     silently crashed neighbour is replaced within about 3 s, well inside
//     SWIM's detection time, at three to four unanswered pings.
//   - RequestTimeout 10, MaxPending 4: a NEIGHBOR answer takes one round
//     trip; 1 s covers WAN round trips and connection set-up.
//   - RandomLinkTicks 3000 (5 min; the first after half that): one link
//     and an eviction at each end per node every 5 minutes is little churn,
//     and a split part of k nodes meets the rest within about 5/k minutes.
//   - JoinsPerTick 32, WalksPerPeerPerTick 48, EvictionsPerTick 4: bounds
//     on the work one peer (or a burst of joiners) can cause. A contact
//     forwards one FORWARD_JOIN per join to each neighbour, so a neighbour's
//     walk budget is JoinsPerTick plus room for shuffles.
//
// # Measured
//
// On testnet/sim (100 ms ticks, 5-40 ms one-way latency; go test
// ./membership/overlay/ and go run ./testnet/cmd/overlayexp), n nodes
// joining through one contact at 20-25 a tick end with every active view
// within [8, 16] (mean 15.9, minimum 12-13), every link symmetric and one
// component. After half the nodes crash silently no survivor keeps a
// crashed neighbour after 31 ticks (FailTicks plus a tick); every survivor
// is back to at least ActiveMin in one component after 31-40 ticks, with
// every link symmetric too after 37-48, at n = 1,000 and 10,000 (79 ticks
// after an 80 % crash at 10,000; 70 after a 50 % crash at n = 100,000
// joined through random earlier nodes). With 5 % frame loss the repair
// takes 34-46 ticks, and a few links are always being made symmetric
// again. A quiet overlay costs 1.6 frames (10 bytes of records) per node
// per tick, the keepalives of 16 links; other layers' traffic replaces
// them. The state is 4-6 KB per node (the passive view dominates).
//
// # Hostile peers
//
// Views are bounded (ActiveMax, PassiveMax, MaxPending) and a peer can
// never push one past its cap; IDs naming this node are ignored; walk TTLs
// are clamped to ARWL and ShuffleTTL; a frame's overlay records are capped
// (MaxRecordsPerFrame), ID lists on the wire to 64 and shuffle lists to
// 1+ka+kp; walks are accepted only from active neighbours, within a
// per-neighbour budget; a SHUFFLE_REPLY must carry the nonce of the
// outstanding SHUFFLE; a repeated JOIN is not walked again;
// joins, evictions and walks are budgeted per tick; Config.Accept can
// restrict every view entry (for instance to members SWIM knows alive).
// Every refusal has a counter in Stats. A hostile neighbour can still fill
// the passive view with invented IDs (they are dropped when a request to
// them times out); Accept is the defence.
//
// # Wire format
//
// Overlay records use types 0x60-0x6f, inside core's membership range
// (0x40-0x7f) and clear of SWIM's (0x40-0x4a), so they share frames with
// gossip and SWIM records (core.DecodeFrame hands them over as Records).
// Bodies: JOIN empty; FORWARD_JOIN joiner id, uvarint TTL; NEIGHBOR,
// NEIGHBOR_REPLY, DISCONNECT and KEEPALIVE one flags byte; SHUFFLE uvarint
// nonce, origin id, uvarint TTL, id list; SHUFFLE_REPLY uvarint nonce, id
// list; SPLICE (0x68) joiner id. An id is a uvarint length and bytes (at most Limits.MaxIDLen); an id
// list a uvarint count (at most 64) and ids. Unknown flags are rejected;
// record types 0x69-0x6f, unknown to this version, are skipped (as a
// version before SPLICE skips 0x68).
package overlay
