// Package sim is Grapevine's deterministic discrete-event network
// simulator: it runs N protocol nodes (gossip engines, SWIM membership,
// baseline protocols) behind a simulated network in virtual time, and scales
// to a million nodes on one machine.
//
// # Model
//
// Time is virtual (a time.Duration since the start). Everything that
// happens is an event in one priority queue ordered by (time, sequence
// number): the sequence number is assigned when the event is scheduled, so
// events of the same instant run in the order they were scheduled and a run
// depends only on its inputs. All randomness (latency, loss, tick phases,
// crash selection) comes from sources seeded by Config.Seed: the same seed
// and the same calls give the same run, bit for bit. Nothing iterates a map.
//
// Nodes are numbered 0..N-1. Each node has a Handler, the protocol, with two
// methods the simulator calls on its single goroutine:
//
//   - Tick(), every Config.TickInterval of virtual time (the round length).
//     With Aligned phase (the default) every node ticks at the multiples of
//     the interval, in index order, which is the round-synchronous model of
//     the gossip analyses; RandomPhase gives each node its own offset.
//   - Receive(from, frame), for each frame that reaches the node.
//
// A node sends through its Endpoint (Network.Endpoint(i)): SendTo(to, frame)
// by index, Send(core.NodeID, frame) as a core.Transport, SendAfter to add a
// sender-side delay, and After(d, fn) for a timer that fires only if the node
// is up. Frames are opaque byte strings: the network never looks inside, so
// any protocol plugs in. A frame sent at t arrives at t + latency, where the
// latency is drawn per frame from Config.Latency: Fixed, Uniform, Normal,
// LogNormal, or PerLink for a model per link (ParseLatency reads them from
// flags).
//
// # Faults
//
// A frame is lost with the global Config.Loss probability, combined with any
// per-node (SetNodeLoss) and per-link (SetLinkLoss) rate. Crash(i) stops a
// node: it gets no ticks, timers or frames and what it sends is discarded,
// until Recover(i); CrashFraction crashes a random fraction. Partition(groups)
// splits the nodes into groups that cannot reach one another (frames in
// flight across the cut are lost on arrival) until Heal. Every control has an
// ...At(t) form to schedule it, and Network.At/After schedule any function.
//
// # Observation
//
// Each node has Counters (frames and bytes sent and received, drops by
// cause); Network.Total sums them. Network.Tap, if set, sees every frame event
// (send, deliver, drop and why). Protocol-level observations (which node
// delivered which message when) belong to the protocol adapter: Gossip has
// an OnDeliver hook.
//
// # Node IDs
//
// ID(i) is node i's core.NodeID: its index in decimal ("0" .. "999999"),
// the most compact printable form; Index(id) maps back. IDs(n) builds the
// shared slice of all IDs once, so samplers do not copy it per node.
//
// # Gossip
//
// NewGossip runs one unchanged core.Engine per node: each GossipNode is the
// engine's Handler, Transport, Application and PeerSampler in one small
// struct, and samples uniformly from the shared ID slice (nothing per node
// grows with N). GossipConfig.Synchronous makes the run follow the
// round-synchronous model exactly (pull requests answered from the state at
// the start of the round). Spread runs the standard experiment, one message
// from one node through N, and reports the infection curve, rounds and time
// to 50/99/100 %, traffic per node and residue; KarpConfig is the engine
// configuration of the textbook model (fanout 1, no eager push).
//
// # Scale
//
// A queued event is a 64-byte value in a 4-ary heap; aligned ticks are one
// event per instant for the whole population rather than one per node.
// Per-node state is the Handler plus a few bytes of bookkeeping. See
// docs/benchmarks/scale.md for measured wall time and memory at 10^5 and
// 10^6 nodes.
package sim
