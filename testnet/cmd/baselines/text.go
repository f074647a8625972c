package main

const preamble = `Grapevine's case rests on a comparison the literature makes on paper: a
centralized sender is O(n) in latency and load, a tree is O(log n) but
fragile when an internal node fails, SRM repairs with multicast NAKs but
needs random delays and backoff against NAK implosion, RMTP sends ACKs only
to designated receivers who retransmit, and gossip is O(log n) and robust.
This page measures that comparison. Each classic protocol is implemented in
package testnet/baselines as a deterministic state machine (rules and
papers cited in its package doc: Floyd et al., SIGCOMM 1995 / ToN 1997 for
SRM; Paul et al., IEEE JSAC 1997 for RMTP) and runs in the same simulator
(testnet/sim) as core's gossip engine, on the same network, under the same
faults.

Multicast is modelled as in IP multicast (the network copies the frame and
the sender pays for one transmission in time), but counted as n − 1 frames
sent by the sender, because an overlay has no IP multicast: SRM's and
RMTP's frames/node and max-node figures are what they would cost as an
application-level protocol.

`

const discussion = `## What the measurements show

See the discussion in the section below, written from these tables.
`
