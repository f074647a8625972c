// Package core is Grapevine's gossip engine: epidemic multicast (push, pull
// and push-pull) as a pure, deterministic state machine.
//
// # Shape
//
// Like etcd-io/raft's Node, an Engine does no I/O of its own. The caller
// feeds it three kinds of input and it answers through small interfaces:
//
//   - Publish(topic, payload, ...PublishOption): this node originates a message.
//   - Step(from, frame): a frame arrived from a peer.
//   - Tick(): time passed. Every Config.RoundTicks ticks a gossip round runs.
//
// Out come frames to send (Transport.Send) and messages to deliver
// (Application.Deliver). Random peers come from a PeerSampler (the
// membership layer, or a StaticSampler), randomness from Config.Rand. There
// are no goroutines, sockets, clocks or global random sources, so the same
// engine runs under the libp2p adapter, in a browser (GOOS=js), and a million
// times over in the deterministic simulator; the same inputs give the same
// outputs bit for bit.
//
// # Messages
//
// A message carries its origin, the origin's sequence number (consecutive,
// from Config.FirstSeq), a topic, a priority, the origin's timestamp and the
// payload. Its key is (origin, seq); Message.ID is a SHA-256 digest over the
// rest, which adapters sign (Config.Signer) and verify (Config.Validator).
// Each node delivers a message to its application at most once. Because
// sequence numbers are per origin, a node knows which ones it has missed: its
// seen-set is, per origin, a contiguous watermark plus the few numbers seen
// above it, and those gaps are exactly what a pull request asks for.
//
// # Dissemination
//
// Push. A node that publishes or newly receives a message keeps it hot for
// Rounds = ⌈c·⌈ln n⌉⌉ rounds (Config.Rounds, or Config.RoundsFactor = c and
// the sampler's group size n) and each round sends its hot messages to
// b = Config.Fanout random targets, drawn independently (the model of the
// classic analysis) or without repetition (Config.DistinctTargets). With
// EagerPush a node also forwards a message at once on first receipt, so a
// message crosses the group at hop latency instead of round length. After
// c·log n rounds about 1/n^(cb−2) of the nodes are still uninfected (Gupta's
// analysis of gossip multicast); with fanout 1 and no bound on rounds,
// everyone is informed after log₂ n + ln n + O(1) rounds (Frieze and
// Grimmett; Pittel 1987).
//
// Pull. Every Config.PullEvery rounds a node sends Config.PullFanout random
// peers a digest of what it holds (per origin: the contiguous watermark and
// the numbers above it, bounded by MaxDigestOrigins and MaxDigestAbove); a
// peer answers with the stored messages the digest lacks. Pull is slow to
// start but fast to finish: once a fraction p of nodes lacks a message, one
// pull round leaves about p², where push leaves p·e⁻¹. It also repairs
// whatever loss or crashes kept from a node.
//
// Push-pull does both. Karp, Schindelhauer, Shenker and Vöcking (FOCS 2000)
// show log₃ n + O(log log n) rounds with O(n log log n) transmissions.
//
// # Many messages
//
// When more messages are hot than one round's budget allows
// (MaxRoundMessages, MaxRoundBytes per target), Config.Policy picks them: a
// uniformly random subset (Random), the most recently received (Recent) or
// the highest priority (Priority). Pull answers are chosen the same way.
//
// # Large messages
//
// A payload larger than Config.LazyThreshold is pushed as an IHAVE
// announcement of its key to all but LazyBodyFanout of the targets; a node
// that lacks it asks the announcer with IWANT, and asks the next announcer
// after IWantTimeout ticks. Pending requests are listed as held in the
// node's digests so that a pull answer does not send a second copy. Each node
// then receives the body about once (the floor is one copy per delivery) at
// the price of an extra round trip per hop; LazyBodyFanout 1 buys back most of
// the latency for about one more copy.
//
// # Tree push
//
// With Config.TreeFanout = k and a sampler that can list the whole group
// (PeerLister, as membership's list does), first receipt sends the body
// along a spanning tree instead of to random targets: members sit on a ring
// at a hash of their ID (RingPos); the origin cuts the ring, from a random
// point, into k chunks of nearly equal membership and sends each chunk's
// first member the body with the end of its chunk (a RecTreeMessage
// record); that member does the same within its chunk. Each member then
// receives the body once, after about log_k n one-way hops. Every member
// builds the tree from its own view, so nothing is negotiated; what the tree
// misses (a member absent from a view, a subtree below a crashed member) is
// left to the random part: the rounds' announcements, with IWantDelay so an
// announcement that overtakes a tree body costs no second copy (Plumtree's
// timer, Leitão et al. 2007), and pull. This is Birman et al.'s bimodal
// multicast (ACM TOCS 1999): a best-effort multicast first, gossip repair
// second. A Transport that implements Reachability lets the tree route around
// peers it already knows are gone. The adapter for libp2p streams uses it
// (package p2p); the simulator's analyses use random push.
//
// # Plumtree
//
// With Config.Plumtree and a sampler whose peers are an overlay's
// neighbours (NeighborLister, as over membership/overlay's HyParView active
// view), first receipt and Publish send the body to the eager neighbours
// and announce it (IHAVE) at once to the lazy ones; TreeFanout is ignored.
// Every link starts eager; a duplicate body over an eager link makes it lazy
// and sends the sender a PRUNE (RecPrune), so the eager links settle into a
// spanning tree of the overlay (Leitão, Pereira and Rodrigues, Epidemic
// Broadcast Trees, SRDS 2007). A node keeps at least Config.EagerMin eager
// links (it neither prunes nor obeys a PRUNE below that), a spare path
// against loss. A lazy neighbour that misses the body asks for it with
// IWANT after IWantDelay, which makes the link eager again on both sides
// (Plumtree's GRAFT). Link state exists only for current neighbours and
// flips one bit per PRUNE or IWANT; counters are in PlumStats. With
// Config.PlumRoundsAfterLoss a node's gossip rounds announce only within
// that many ticks after it saw loss (it sent an IWANT, or a neighbour link
// went away); otherwise the announcements on first receipt are the only ones.
// With Config.PlumAnnounceDelayCalls those wait a few ResendUnanswered calls,
// on links chosen by a hash of the message key and both ends' IDs, so that
// the end that got the message first announces and the other, having heard
// it, does not (plumtree_announce.go): about one announcement per chosen
// link instead of two, and none to a neighbour known to hold the message.
// With Config.WantRTT the answers to first asks teach ackRTO the round
// trip, so that fast retries of asked bodies follow it.
//
// # Gap wants
//
// Sequence numbers make a lost body visible before any announcement: a
// message above the highest number seen of its origin shows the numbers in
// between missing. With Config.GapWantDelay the node asks for them (at most
// eight) with IWANT, of the message's sender and of the origin at once (the
// origin only if it is a neighbour under Plumtree), GapWantDelay ticks later
// or sooner when the adapter calls AskGaps (p2p does a few milliseconds
// after the gap shows). Under FIFO delivery every later message of the
// origin waits behind a lost one, so this is what bounds the tail when
// bodies are lost or swallowed on the way. Neither member asked promised the
// body, so an unanswered request is not held against them; counters are in
// GapStats.
//
// # Bounds
//
// Memory is bounded everywhere, and every bound counts what it dropped in
// Stats: the store (MaxStoreMessages, MaxStoreBytes, StoreTTL), the seen-set
// (MaxOrigins, SeenTTL, MaxAbove, GapTimeout), outstanding IWANTs
// (MaxPendingWants), FIFO hold-back (MaxHeld, FIFOTimeout), bytes sent to one
// peer per round (MaxPeerBytesPerRound) and messages accepted from one peer
// per round (MaxInboundPerPeerPerRound). MaxMessageSize is enforced on
// publish and on receipt. A request costs its sender a few bytes and its
// answer up to whole bodies, so answers are bounded per requester too: a
// peer's pull digests are answered RoundTicks+1 times a round
// (Stats.PullsLimited), and one body is sent for a peer's IWANTs at most
// eight times (Stats.IWantsLimited).
//
// # Ordering
//
// With Config.FIFO a node delivers each origin's messages in sequence order
// from the first one it sees, holding back later ones until a gap fills; a gap
// still open after FIFOTimeout ticks is skipped and reported to an
// Application that implements LossReporter.
//
// # Wire format
//
// A frame is a version byte (WireVersion) and a sequence of records, each a
// type byte, a uvarint length and a body. Record types 0x01–0x3f are the
// engine's (message, IHAVE, IWANT, digest, tree message), 0x40–0x7f the membership
// layer's, 0x80–0xff adapters'; a decoder returns records it does not own in
// Frame.Records, so layers share one frame and newer record types pass
// through older peers. On byte streams frames are length-delimited
// (AppendLengthPrefixed, ReadFrame). Decoders check every length against
// Limits and against the bytes actually present before allocating, and return
// an error, never a panic, on any input (FuzzDecodeFrame, FuzzEngineStep).
// Sequence numbers per frame (IHAVE/IWANT keys plus digest Above lists) are
// capped by Limits.MaxKeys and taken from that budget before allocating, so
// a frame decodes to at most 24·MaxKeys bytes of keys whatever its length.
//
// # Hostile peers
//
// Exactly once against replays: an origin's seen-state is forgotten only
// (a) after SeenTTL idle with nothing stored or held, when the adapter's
// replay window (SeenTTL ≥ window + clock skew) rejects its old messages, or
// (b) by eviction under MaxOrigins, which leaves a watermark tombstone (the
// highest sequence number seen) for SeenTTL; messages at or below it are
// duplicates, and a returning origin resumes from it. Tombstones are bounded
// by 8·MaxOrigins: when the origin table is full and another eviction would
// have to forget a tombstone younger than SeenTTL, the new origin is refused
// (Stats.OriginsRefused) and the sending peer reported with OffenceFlood, so
// an attacker inventing origins loses its own messages, never re-admits an
// honest one. A Validator that also implements OriginGate keeps messages of
// origins it does not know (not members) out altogether: they are held for
// HoldUnknownTicks, taken in if the origin becomes known, else dropped and
// the sender reported with OffenceUnknownOrigin (unknown_origin.go). The
// per-peer budget of new origins (NewOriginBurst) is opt-in
// (origin_budget.go says why).
//
// Memory: FIFO hold-back is bounded per origin (MaxHeld) and overall
// (MaxHeldBytes); under KeepFrames a message is copied out of a frame more
// than twice its size + 1 KiB, so the store pins at most about 2× what
// MaxStoreBytes counts. Offences (Config.Penalizer): OffenceMalformed for an
// undecodable frame, OffenceInvalidMessage for a Validator rejection,
// OffenceFlood for a refused new origin.
package core
