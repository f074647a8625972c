// Package grapevine is a library for reliable multicast in peer-to-peer
// groups: epidemic gossip for the messages, a SWIM failure detector with the
// Lifeguard refinements for the group, native and in the browser.
//
// # Layers
//
//   - core: the gossip engine, a pure deterministic state machine. Push,
//     pull and push-pull epidemic dissemination (Demers et al., PODC 1987;
//     Karp et al., FOCS 2000), lazy push of large messages, bounded stores
//     and seen-sets, and the versioned, length-delimited wire format every
//     layer shares (a frame is a version byte and typed records).
//   - membership: SWIM (Das, Gupta, Motivala, DSN 2002) with Lifeguard
//     (Dadgar et al., arXiv 1707.00788): probes, ping-req, suspicion with
//     incarnation numbers, a dynamic suspicion timeout, local health,
//     piggybacked dissemination, joins, leaves, metadata and full-state
//     exchange. Also a pure state machine.
//   - grapevine (this package): Node, the two composed. The memberlist is
//     the engine's peer sampler, so gossip targets are live members, and its
//     piggybacker, so every gossip frame carries membership news for free.
//     A Node is what the adapters run. With Config.Guard it also checks
//     what it hears as any peer may be hostile (guard.go): the replay
//     window, origins' signatures, the origin rule and the publish rate of
//     every message, and a decaying misbehaviour score of every peer from
//     the offences both layers report (score.go), the same in native
//     peers, browser tabs and the simulator's attack suite.
//   - adapters own the I/O, goroutines and clocks: p2p (libp2p), wasm (the
//     browser peer) and testnet (local testnets and the deterministic
//     simulator).
//
// # Driving a Node
//
// A Node never reads a clock of its own (the guard's wall clock is injected,
// GuardConfig.Now), never starts a goroutine and never touches a socket. Its owner calls Tick at the rate the membership profile names
// (Config.Membership.Tick, 100 ms for the LAN profile), Step for each frame
// that arrives, and supplies a core.Transport whose Send queues the frames
// the node emits. The same inputs in the same order produce the same
// outputs, bit for bit, which is what lets the simulator replay a run of a
// million nodes from a seed.
package grapevine
