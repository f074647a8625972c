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

**Latency.** The centralized sender's T100 grows linearly with n: 0.59 s at
1,000 nodes, 9.6 s at 10,000, 99.6 s at 100,000 (ten messages times n
unicasts at 10,000 a second; the worst message waits behind the earlier
ones). The tree's grows with its depth, log₄ n: 158 ms, 230 ms, 272 ms.
Push-pull gossip's grows logarithmically too: 249 ms, 333 ms, 375 ms, about
1.4 times the tree's, because eager push needs about log₃ n hops over
random (not nearby) links and the last nodes are reached by round-driven
pushes and pulls. SRM and RMTP deliver in one network hop (44–45 ms at
every n) only because the simulator copies their multicasts the way IP
multicast routers do; as an overlay, a multicast to n members is n − 1
unicasts from one node, which would make them O(n) like the centralized
sender. Pull alone pays for its rounds: 1.3 s at 1,000, 2.1 s at 10,000.

**Load.** Frames per node are of the same order everywhere (10 to 60 for
ten messages), but not where they fall. The centralized source sends n − 1
frames per message (max node ≈ 10·n), and so do SRM's and RMTP's sources
once their multicasts are counted as an overlay must send them. A tree node
sends at most k = 4 copies plus heartbeats (max 55–60). Gossip spreads the
load evenly: the busiest node sends within 1.2 times the mean (push-pull at
10,000: 68 against 58). Gossip's price is redundancy: five to six frames
per message per node against one to two for the tree.

**Loss.** The tree has no end-to-end repair: at 10 % loss every hop loses a
tenth, and only 69 % (n = 1,000) and 62 % (n = 10,000) of the deliveries
arrive; resync after re-attachments fills a few gaps, slowly. At 50 % loss
heartbeats are lost so often that children keep declaring live parents
dead and climbing toward the root, and the tree degenerates into a star
around it: at 10,000 nodes the root sent 1.15 million frames, and 2.7 % of
the deliveries still never happened. The centralized sender with three
retries gives up on 0.013 % of its receivers at 10 % loss and 6 % at 50 %.
SRM repairs everything within about 150 ms (300 ms at 50 % loss), but every
request and every repair goes to the whole group: 334 frames per node at
10 % loss and 566 at 50 % with n = 10,000, five to nine times gossip, and
growing with n. Its suppression works — at 10,000 nodes and 10 % loss,
112 requests were sent and 9,898 suppressed, 211 repairs sent and 89,814
suppressed (table above) — yet with independent losses hundreds of members
miss each packet and each request round costs n frames. RMTP completes with
modest traffic (30 frames per node at 10 % loss with n = 10,000), since
receivers talk only to their DR, but it repairs in status rounds: 1.7 s at
10 % loss and 8.4 s at 50 %. Push-pull completes in 0.41 s at 10 % loss and 0.93 s at 50 %,
with 62–73 frames per node and a balanced maximum.

**Crashes.** A crash at the start costs the tree one detection timeout per
dead ancestor, since an orphan climbs one level per 600-ms timeout: with
10 % of the nodes crashed T100 is 3.1 s at 10,000 nodes, with 50 % 3.7 s.
The internal-node crash mid-stream stalls the root's first subtree (a
quarter of the nodes) for the detection time: T100 744 ms (n = 1,000) and
860 ms (n = 10,000) against 158 and 230 ms without it — the plateau near
0.8 in the plot. The centralized sender keeps its pace but spends retries on
dead receivers. SRM and RMTP are untouched by member crashes here, because
their data never passes through members (the network does the copying) and
these scenarios have no loss; an RMTP region whose DR has crashed would get
no repairs under loss (there is no DR fail-over). Gossip needs no detection
or repair and only slows down, because a push to a dead node is wasted:
push-pull's T100 goes from 0.33 s to 0.76 s with half of 10,000 nodes dead.

**Where the textbook claims hold, and where they do not.**

- They hold for the centralized sender (latency and source load O(n)), for
  the tree's O(log n) latency and its cut-off subtree, and for gossip's
  O(log n) latency, robustness and even load.
- The tree's fragility in these runs comes more from loss than from
  crashes: heartbeat-based detection turns loss into false suspicions, and
  repair by re-attachment concentrates the tree on the root. A crash costs
  a detection timeout; heavy loss costs the tree its shape.
- SRM's request suppression scales as designed, but its repair suppression
  does not with the fixed timers of the ns-2 agent (D1 = D2 = 1): with
  independent losses almost every member holds the data, and the members
  close to a requester all fire within one propagation delay. With
  D1 = D2 = 1 the same 10 %-loss runs cost 455 frames per node at n = 1,000
  and 2,538 at n = 10,000 (seed 1), against 119 and 334 with the window
  widened to D1 = D2 = log₁₀ n, which the table uses (the paper's adaptive
  timers, not implemented here, tune these constants from the duplicates
  they observe). Command:
  ` + "`go run ./testnet/cmd/baselines -n 1000,10000 -seeds 1 -protocols srm -scenarios \"10% loss\" -srm-d 1 -print`" + `.
- SRM's and RMTP's one-hop latency and crash immunity are properties of IP
  multicast, not of the protocols; an application-level group, which is
  what Grapevine serves, cannot have them.
- RMTP does avoid the ACK implosion: its sender hears only from √n DRs.
  What it gives up is speed under loss, where a repair waits for the next
  status round at every level.

**Caveats.** Generating this page took 371 s of CPU time (19 minutes of
wall time on a 2-core machine shared with other jobs; the 100,000-node
push-pull run alone is a third of it). One seed at 10,000 and 100,000 nodes; at 100,000 nodes only
the fault-free scenario and, of the gossip modes, push-pull ran (push and
pull take minutes per run there with the engines' per-frame cost). Latency
is fixed per link and loss independent per frame; correlated loss (a lossy
link shared by a subtree) would favour SRM's suppression and hurt the tree
more. The gossip engines run with their defaults and a 100-ms round; their
own experiments tune fanout and round length.
`
