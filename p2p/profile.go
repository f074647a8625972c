package p2p

import (
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Version is the Grapevine version reported by the peer program and in the
// libp2p user agent.
const Version = "0.1.0"

// Profile selects a tuned parameter set for membership and gossip.
type Profile int

const (
	// ProfileLAN: one data centre (membership's DefaultLANConfig).
	ProfileLAN Profile = iota
	// ProfileWAN: members across the Internet (DefaultWANConfig).
	ProfileWAN
	// ProfileLocal: one host or switch, tests and testnets (DefaultLocalConfig).
	ProfileLocal
)

// ParseProfile parses "lan", "wan" or "local".
func ParseProfile(s string) (Profile, bool) {
	switch s {
	case "lan":
		return ProfileLAN, true
	case "wan":
		return ProfileWAN, true
	case "local":
		return ProfileLocal, true
	}
	return 0, false
}

// engineConfig is the gossip profile tuned for libp2p streams (see doc.go):
// eager push of the body to a few peers, lazy IHAVE to the rest, pull
// repair every round.
func engineConfig(p *Peer) core.Config {
	c := core.DefaultConfig()
	c.ID = p.id
	c.Transport = p.tr
	c.App = p
	c.Signer = newSigner(p.sk, p.s.group)
	c.FirstSeq = p.s.firstSeq
	if c.FirstSeq == 0 {
		c.FirstSeq = uint64(time.Now().UnixMicro())
	}
	tuneEngine(&c, p.s.profile, p.s.overlay)
	if p.s.engine != nil {
		p.s.engine(&c)
		c.ID, c.Transport, c.App, c.Signer = p.id, p.tr, p, newSigner(p.sk, p.s.group)
		c.Validator, c.Penalizer = nil, nil // the Node's guard (guard.go)
	}
	CoverReplayWindow(&c, p.s.replayWindow, p.s.clockSkew, p.s.tick)
	// Every inbound frame is read into a buffer of its own (core.ReadFrame)
	// and never touched again, so stored messages may alias it.
	c.KeepFrames = true
	return c
}

// EngineProfile returns the gossip engine's configuration a p2p peer of
// profile p runs (with the overlay, WithOverlay, when overlay is set),
// without the peer's own identity, transport, application, validator and
// signer: what the simulator runs to measure the same protocol at sizes
// one machine cannot host (testnet/cmd/stackexp).
func EngineProfile(p Profile, overlay bool) core.Config {
	c := core.DefaultConfig()
	tuneEngine(&c, p, overlay)
	return c
}

// tuneEngine applies the gossip profile for libp2p streams. Streams are
// reliable and every frame costs a yamux header, a Noise tag and usually a
// system call, while a message body (payload, 38-byte origin, 64-byte
// signature) costs far more than an announcement, so the profile sends each
// member the body about once, along a tree, and repairs with batched
// announcements and pull (docs/benchmarks/p2p.md has the measurements
// behind each number):
//
//   - TreeFanout 6: on first receipt a body goes along the message's own
//     spanning tree of the group (core/tree.go): at most six children, so
//     a group of 50 is covered in two or three hops of one one-way trip
//     each, and every member receives the body once. A member absent from
//     the sender's view, or below a member that just crashed, is missed by
//     the tree and left to the repair below.
//   - Rounds 1, RoundTicks 2, Fanout 3, LazyThreshold 1: in the first round
//     after receipt (within 200 ms) every member announces the message to
//     three random members. The announcements of one round to one target
//     share a frame (about 20 bytes per key at 20 messages a second, the
//     origin written once per frame), and a member the tree missed hears
//     of the message from about three announcers: all but e^-3 ≈ 5 % of
//     the missed ones recover within a round. (With the overlay, only
//     within 5 s of a loss the member saw: PlumRoundsAfterLoss below.)
//   - IWantDelay 1: a member waits one tick (up to 100 ms) after the first
//     announcement before asking for the body, so an announcement that
//     overtakes the tree body costs no second copy (Plumtree's timer).
//   - GapWantDelay 1: a message above the highest sequence number seen of
//     its origin makes the member ask the message's sender, then the
//     origin, for the (at most 8) numbers in between (core/gapwant.go):
//     the driver asks gapAskWait after the gap showed, the next tick at
//     the latest. A body lost on a link or swallowed by a member
//     that stopped reading otherwise held every later message of its
//     origin back for FIFO delivery until an announcement or the next
//     pull repaired it, 200 ms to 1 s later.
//   - PullEvery 5: a digest to one random member every second repairs the
//     rest and whatever a crashed member swallowed.
//   - PullIdleMax 8: while nothing new arrives a member's digests come
//     2, 4, then 8 s apart (core/pull_idle.go); any change, or a
//     neighbour's digest listing a message it lacks, brings them back to
//     every second. An idle peer's digests were a third of the frames it
//     sent (docs/benchmarks/ladder.md, session 22).
//   - PullMinAge 2: a pull answer leaves out what the answering member got
//     in the last 200 ms, which is most likely still on its way to the
//     asker along the tree (at N = 200 on one machine, pull answers were
//     42,000 of the 146,000 bodies sent for 20,000 deliveries).
//   - EagerPush, LazyBodyFanout 1: only when membership cannot list the
//     group (never with package membership) does first receipt fall back
//     to one random body and announcements to the other fanout targets.
//   - MaxRoundMessages 32, MaxRoundBytes 128 KiB: one pull answer (or one
//     round's push to one target) carries at most that much, so a member
//     that fell behind catches up over a few rounds instead of drawing a
//     burst of bodies that are mostly already on their way.
//   - IWantTimeout: how long to wait for an announced body before asking the
//     next announcer — 500 ms on a LAN, 2 s on a WAN, 300 ms locally.
//   - TreeAckTicks 50: for its first 5 s, and while it sees loss (a message
//     that reached it outside the tree, a gap in an origin's numbers, or a
//     tree body of its own unacknowledged after a resend, within the last
//     5 s), a member's tree bodies ask for an acknowledgement, and the
//     driver resends those not acknowledged in time to the same child,
//     twice, then to the next member of the child's arc (core/treeack.go).
//     The timeout follows the acknowledgements' round trip in treeAckWait
//     steps (10 ms on a LAN; at least 2 steps), so a busy host does not
//     resend what was only late. Without it a body lost on a link cost the
//     child and its subtree an announcement round, IWantDelay and, if the
//     IWANT or its answer was lost as well, IWantTimeout: under make demo's
//     10 % frame loss p99 was about 1 s against 40-60 ms without loss;
//     with it 73-100 ms on a quiet host (docs/benchmarks/loss-tail.md).
//     Without loss nothing more is acknowledged after the first 5 s than
//     the probation below asks for. A crash turns it on for
//     5 s at the members that repair what the dead member swallowed.
//   - TreeAckProbeTicks 50: a tree child that has not acknowledged a body
//     within the last 5 s is asked to acknowledge the next one (about one
//     acknowledgement per child per sender every 5 s while bodies flow). A
//     member that takes bodies and never reads them never acknowledges:
//     each body sent to it is resent twice and handed to the next member
//     of its arc within a few timeouts (issue 13's stalling members;
//     docs/SECURITY.md).
//   - FastWantRetries 2: an IWANT (or gap want) not answered within the same
//     timeout is asked again of the next announcer, twice, before
//     IWantTimeout takes over: what the tree still misses under loss does
//     not wait 500 ms for a lost request.
func tuneEngine(c *core.Config, p Profile, overlay bool) {
	c.Mode = core.PushPull
	c.EagerPush = true
	c.TreeFanout = 6
	c.Fanout = 3
	c.LazyThreshold = 1
	c.LazyBodyFanout = 1
	c.IWantDelay = 1
	c.GapWantDelay = 1
	c.Rounds = 1
	c.RoundTicks = 2
	c.PullEvery = 5
	c.PullMinAge = 2
	c.PullIdleMax = 8
	c.MaxRoundMessages = 32
	c.MaxRoundBytes = 128 << 10
	c.FIFO = true
	c.FIFOStart = 2
	c.TreeAckTicks = 50
	c.TreeAckProbeTicks = 50
	c.FastWantRetries = 2
	switch p {
	case ProfileWAN:
		c.IWantTimeout = 20
	case ProfileLocal:
		c.IWantTimeout = 3
	default:
		c.IWantTimeout = 5
	}
	if overlay {
		// With the overlay (WithOverlay) bodies travel over neighbour
		// links, Plumtree style (core/plumtree.go), instead of along a
		// tree over the whole group; an announcement waits two ticks
		// before it is fetched, so the eager body usually wins the race
		// and the link is not grafted for nothing (docs/benchmarks/plumtree.md).
		c.Plumtree = true
		c.IWantDelay = 2
		// On first receipt a message is announced to 4 random lazy
		// neighbours, not all of them: each announcement was a frame of
		// its own, and at N = 60 (p2pscale -n 60 -msgs 100, quiet machine,
		// runs side by side) bytes per delivery fell from 2,100–2,119 to
		// 1,603–1,647 and p99 from 100–228 ms to 36–117 ms (2 gave
		// 1,518–1,532 B and 73–128 ms; 4 keeps more announcers for repair).
		c.PlumLazyFanout = 4
		// The per-round announcements above (Rounds 1, Fanout 3) go out only
		// within 5 s of a loss this member saw (it sent an IWANT, or a
		// neighbour link went away); otherwise the 4 announcements on
		// first receipt are the only ones. Without loss each round cost
		// three frames carrying announcements of what the neighbours
		// mostly had: N = 50 over QUIC (bench -plumrounds 0 against 50,
		// two interleaved medians of three each) steady CPU per delivery
		// 0.84 / 0.74 -> 0.75 / 0.61 ms, wire bytes -10 %; silent crash
		// p99 49.7 / 41.9 -> 18.6 / 19.9 ms; N = 100, 16 interleaved
		// single runs, CPU -14 %, and bursts of slow deliveries in both
		// settings alike (12 of 21 runs on, 9 of 20 off). On the simulator
		// (stackexp -n 200,1000, seeds 1-4; -loss 0.1 seeds 1-3) p99 and
		// delivery were unchanged; the largest latency of a run, which
		// is one straggler repaired by pull, moved both ways.
		c.PlumRoundsAfterLoss = 50
		// The announcements on first receipt wait two calls of
		// ResendUnanswered (10-20 ms on a LAN), on links chosen per
		// message by a hash both ends agree on, and skip neighbours that
		// announced or sent the message meanwhile
		// (core.Config.PlumAnnounceDelayCalls): of a chosen link's two
		// ends, the one that got the message first announces. They were 4
		// of the 5.8 frames sent per delivery. N = 50 over QUIC, Grapevine
		// alone, three interleaved pairs (bench -plumannounce 2
		// -iwantcalls 3 against 0 and 5, medians): UDP datagrams per
		// delivery 11.8 -> 9.3, CPU 0.67 -> 0.61 ms, wire bytes
		// 1,318 -> 1,140 B, p99 unchanged (15.4 / 15.6 ms); silent crash
		// CPU 0.84 -> 0.71 ms, p99 20.1 -> 16.5 ms, max 59.7 -> 56.8 ms.
		// On the simulator (stackexp, 2-20 ms links, where a link's two
		// ends get a message within a one-way trip of each other and
		// both announce) bytes do not move, and p99 and max stay within
		// their spread over seeds (docs/benchmarks/ladder.md, "Session 19").
		c.PlumAnnounceDelayCalls = 2
		// The body of an announced message is asked for 20-30 ms after
		// the announcement on a LAN (3 calls of ResendUnanswered,
		// treeAckWait apart), not after IWantDelay's two ticks: see
		// core.Config.IWantDelayCalls. With the announcements' own two
		// calls above, that is 40-50 ms after the announcer got the
		// message, as 5 calls were before them. (Without the delay, 3
		// calls asked for many bodies that were on their way on the
		// simulator's slower links: stackexp -n 1000, p99 128 against
		// 145 ms, max 1,077 against 428 ms, 2.48 against 2.18 bodies per
		// delivery; docs/overlay.md.)
		c.IWantDelayCalls = 3
		// The answers to first asks teach the retry timeout their round
		// trip (core.Config.WantRTT): with no tree body acknowledged it
		// stayed at two calls, and at N = 1,000 16,603 retries went out
		// for 8,596 first asks, each a second body. (A wait that doubled
		// while asks proved premature cut a healthy window's IWANTs by a
		// third there but raised p99 on the simulator, and was not kept:
		// docs/benchmarks/ladder.md, "Session 37".)
		c.WantRTT = true
	}
}

// gapAskWait is how long the driver lets a missing message catch up after
// a later one of its origin arrived before asking for it (Engine.AskGaps):
// a few times how much later a body overtaken on another path arrives
// (tree paths differ by a hop or two: well under a millisecond on
// loopback, a few on a LAN, tens on a WAN), and well under a tick, which
// is what the engine would wait on its own.
// DriverWaits returns the intervals of profile p's driver timers: how long
// after gap wants appear they are asked (gapAskWait), and how often
// unanswered tree bodies and IWANTs are resent (treeAckWait). For
// simulators that run the same engine timers (testnet/sim.EngineTimers).
func DriverWaits(p Profile) (gapAsk, treeAck time.Duration) { return gapAskWait(p), treeAckWait(p) }

func gapAskWait(p Profile) time.Duration {
	switch p {
	case ProfileWAN:
		return 50 * time.Millisecond
	case ProfileLocal:
		return 5 * time.Millisecond
	default:
		return 10 * time.Millisecond
	}
}

// treeAckWait is how often the driver calls Engine.ResendUnanswered while
// tree bodies await an acknowledgement or IWANTs an answer: the unit in
// which the engine measures their round trip and times resends (at least two
// steps). A step is about a round trip on an idle link (a few milliseconds
// on loopback or a LAN, up to a hundred on a WAN) and well under a tick.
func treeAckWait(p Profile) time.Duration {
	switch p {
	case ProfileWAN:
		return 100 * time.Millisecond
	case ProfileLocal:
		return 5 * time.Millisecond
	default:
		return 10 * time.Millisecond
	}
}
