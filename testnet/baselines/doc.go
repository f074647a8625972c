// Package baselines implements the classic multicast protocols that
// Grapevine's gossip is measured against: a centralized sender, a spanning
// tree, SRM and RMTP. Each node is a pure, deterministic state machine with
// the shape of core.Engine — Tick() when time passes one tick,
// Step(from, frame) error when a frame arrives, frames out through a
// core.Transport, deliveries through a core.Application, randomness from an
// injected *rand.Rand — so the same simulator (testnet/sim) runs them and
// the gossip engine under the same latency, loss and crashes.
//
// # Wire format
//
// Frames are core's frames (version byte, then records). Data travels as
// core's message record (core.RecMessage), so all protocols share core's
// message encoding and its decoder; the control records use types
// 0x80-0x87 from the adapters' range: RecAck, RecHeartbeat, RecAdopt,
// RecRequest, RecRepair, RecSession, RecStatus, RecDetach. Every decoder
// returns an error, never panics (FuzzDecodeRecord, FuzzStep).
//
// # Membership
//
// The classic protocols assume a static, known group: all nodes share one
// *Group (the member list sorted by ID). A crashed member stays listed;
// only the tree notices crashes (by heartbeats).
//
// # Multicast
//
// SRM and RMTP were designed for IP multicast. A protocol "multicasts" by
// calling the transport's Multicast if it implements Multicaster (the
// network replicates the frame), or else by unicasting to every member. In
// both cases a multicast to m members counts m frames sent by the sender in
// Stats.FramesSent, which is what the comparison reports: an overlay has no
// IP multicast, and the baselines are not credited with it.
//
// # Centralized
//
// The source unicasts each message to every receiver in turn. The per-send
// cost is modelled: at most SendsPerTick unicasts leave the source per tick,
// so the last receiver gets a message about n/SendsPerTick ticks after the
// first — latency O(n), load O(n) on one node. With Ack on, receivers
// acknowledge each message and the source resends after AckTimeout ticks,
// up to MaxRetries times.
//
// # Tree
//
// A balanced Arity-ary spanning tree over the member list (the root, the
// source, first; then the others sorted): the children of position p are
// k·p+1 .. k·p+k. The root sends each message to its children; each node
// forwards what it newly receives to its children, so a message needs
// ⌈log_k n⌉ hops and every node sends at most k copies. A crash cuts off
// the subtree below the crashed node until the tree is repaired. Repair is
// modelled the way overlay multicast trees do it: parent and children
// exchange heartbeats every HeartbeatTicks; a child that hears nothing from
// its parent for DeadTicks asks the next ancestor up the static tree to
// adopt it (RecAdopt, carrying its contiguous watermark), climbing further
// if that ancestor is silent too; a parent drops a silent child. With Resync
// the adopter sends the orphan everything it holds above the watermark, so
// the subtree catches up; without it, what was missed is lost. Loss of data
// is never repaired otherwise: the tree has no end-to-end reliability.
//
// # SRM
//
// Scalable Reliable Multicast, after Floyd, Jacobson, Liu, McCanne and
// Zhang, "A Reliable Multicast Framework for Light-weight Sessions and
// Application Level Framing" (SIGCOMM 1995; IEEE/ACM ToN 5(6), 1997). The
// rules implemented:
//
//   - Data is multicast to the group. Members are identified by ID and
//     data by (source, sequence number); any member may send.
//   - A member detects a loss by a gap in sequence numbers, or by a session
//     message announcing a higher sequence number than it has seen
//     (§III.A). Only sources send session messages here (see below).
//   - On detecting a loss a member sets a request timer drawn uniformly from
//     [C1·d, (C1+C2)·d], d its distance (one-way delay) to the source. When
//     it fires the member multicasts a request (NAK) and doubles the timer
//     to wait for the repair (exponential backoff, capped at 2^MaxBackoff).
//   - A member that hears another's request for data it is also missing
//     suppresses its own: it backs off (doubles and restarts its timer) and
//     ignores further requests for the same data during the first half of
//     the new interval, which belong to the same round (ignore-backoff).
//   - A member that holds requested data sets a repair timer drawn from
//     [D1·d, (D1+D2)·d], d its distance to the requester, and multicasts
//     the repair when it fires, unless it hears another member's repair
//     first (repair suppression). After sending or hearing a repair it
//     ignores requests for that data for 3·d (the hold-down that keeps one
//     round's duplicate requests from drawing a second round of repairs).
//
// Departures from the paper: SRM members also send session messages to
// estimate distances and to learn each other's state; here distances come
// from the simulator (SRMConfig.Distance), and only sources send session
// messages, since n members each multicasting to n would cost n² frames
// per period. The adaptive timer adjustment of §VII is not implemented;
// the fixed C1, C2, D1, D2 default to the ns-2 SRM agent's 2, 2, 1, 1.
//
// # RMTP
//
// The Reliable Multicast Transport Protocol, after Paul, Sabnani, Lin and
// Bhattacharyya, "Reliable Multicast Transport Protocol (RMTP)" (IEEE JSAC
// 15(3), 1997). The rules implemented:
//
//   - The sender multicasts data to the group.
//   - Receivers are grouped in regions, each with a designated receiver (DR)
//     that caches the data. Every receiver sends its DR a status message
//     every StatusTicks: L, the lowest sequence number it has not received,
//     and a bitmap of what it holds above L (RecStatus). ACKs go only to the
//     DR, never to the sender, which avoids the ACK implosion.
//   - At the end of each retransmission interval (RetxTicks) a DR
//     retransmits what its region's statuses show missing: packets missed
//     by at least Thresh receivers are subcast (multicast to the region),
//     the others unicast.
//   - The DRs send their own status to the sender, which treats the DRs as
//     its region: a two-level hierarchy of ACK processors, so the sender's
//     ACK load is the number of regions, not receivers.
//
// Departures from the paper: no flow or congestion control (the window is
// bounded only by MaxStore and the status bitmap of MaxBitmapBytes), no
// multi-level hierarchy beyond two levels, and no DR fail-over: a region
// whose DR has crashed receives the sender's multicast but no repairs,
// which is the fragility the comparison shows.
package baselines
