// Package p2p runs Grapevine members on libp2p: it binds the pure state
// machines of package core (epidemic gossip) and package membership (SWIM
// with Lifeguard) to real hosts, streams, clocks and discovery.
//
// # Using it
//
//	p, err := p2p.New(ctx,
//		p2p.WithGroup("chat"),
//		p2p.WithIdentity(key),                       // ed25519; LoadOrCreateKey keeps it in a 0600 file
//		p2p.WithBootstrap("/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW..."),
//	)
//	sub, _ := p.Subscribe("news")
//	_ = p.Publish(ctx, "news", []byte("hello"))
//	m, _ := sub.Next(ctx)   // m.From, m.Data, m.Latency
//	for ev := range p.Events() { ... }  // join, suspect, fail, leave, ...
//	p.Close()               // leaves gracefully; every goroutine ends
//
// Options follow go-libp2p-pubsub's functional style (WithListenAddrs,
// WithSeeds, WithDHT, WithMDNS, WithConnLimits, WithMetrics, WithProfile,
// WithQueues, WithEngineConfig, ...).
//
// # The host
//
// Unless given one (WithHost), a Peer builds a libp2p host listening on TCP,
// QUIC v1, WebTransport and WebRTC-direct (on the QUIC port, for browsers
// on https pages) and WebSocket (DefaultListenAddrs), with Noise, yamux, a
// connection manager (WithConnLimits; members are tagged so the manager
// keeps their connections) and the resource manager with libp2p's
// auto-scaled limits plus Grapevine's per-protocol limits (below).
//
// A peer that browsers can reach (listening on WebSocket, WebTransport or
// WebRTC-direct, as the defaults do) also runs go-libp2p's circuit relay
// v2 service (WithRelayService; libp2p/specs relay/circuit-v2.md): browser
// peers reserve a slot on it and open relayed connections to each other
// through it to signal their WebRTC links (/webrtc-signaling/0.0.1,
// package wasm). Its limits are RelayResources: 128 reservations (16 per
// IP), 8 circuits per peer, each cut after 2 minutes or 128 KiB each way;
// it only relays for peers holding a reservation, never dials for a
// request. The host never dials a tab's .../p2p-circuit/webrtc address
// itself (it has no browser-to-browser WebRTC); tabs connect to it.
//
// # Bounded overlay
//
// Without WithOverlay a peer connects to every member it talks to, and
// gossip and SWIM talk to uniformly random members: over time that is the
// whole group, which works to about a hundred members (the connection
// manager keeps 160 to 320). WithOverlay(true) bounds it for groups of
// thousands (docs/overlay.md has the design and the measurements):
//
//   - Which connections. A HyParView overlay (package membership/overlay)
//     keeps an active view that aims at 2·⌈ln n⌉+8 neighbours, at most 12,
//     and takes up to 16 without evicting (WithOverlayBudget sets the 16;
//     the aim stays a quarter below: a group where every member aims at the cap is
//     saturated, and each join then evicts neighbours who look for others
//     among members that are nearly all full), and a passive view of 96
//     addresses to replace
//     them (a neighbour declared failed is replaced within a random
//     second, so that its neighbours, who learn of the crash together, do
//     not all dial at once). A neighbour's connection is opened, with its streams, when the
//     link comes up and tagged so the connection manager keeps it; a
//     former neighbour's is closed two seconds after the link ends, and a
//     connection to any other member once it has been idle ten seconds
//     while the peer holds more than its budget plus two
//     (Stats.ConnsTrimmed). The water marks drop to 24 and 32. With or
//     without the overlay, the connections to a member declared failed
//     are closed at once: a silent crash leaves them open, with their
//     state, until the transport's idle timeout.
//   - Which members a peer probes. SWIM probes its live neighbours and
//     asks neighbours for ping-reqs (membership.Config.Neighbors), each of
//     which relays only to its own neighbours (any other target gets a
//     nack at once rather than a new connection): every other probe goes
//     round-robin, the others to the neighbour heard from least recently,
//     so a neighbour that fell silent is probed within a few periods; the
//     round-robin passes over a neighbour heard from within the period
//     (its frames showed it alive), and a probe whose ack is late ends as
//     answered if the target's other frames arrived after the ping
//     (membership.Config.HeardAnswersProbe). A member nobody but its neighbours
//     talks to is still probed: every member is a neighbour of 8 to 16
//     others (the views are symmetric), and the overlay's own keepalive
//     finds a neighbour that went silent (dropped from the view after
//     30 s, then probed out of turn: membership.Memberlist.ReportUnreachable
//     queues up to 16 such members, and one whose probe was inconclusive
//     is queued again).
//   - Splits. Joins, walks, shuffles and refills all travel over
//     neighbour links, so an overlay that split (a partition that healed,
//     a flash crowd of joins) would never meet again, and gossip with it:
//     every 5 minutes or so a peer links to a member drawn from its whole
//     member list (overlay.Config.RandomLinkTicks), and a joiner retries
//     its JOIN until a contact took it in.
//   - How memberships travel. Membership updates ride on every frame a
//     peer sends its neighbours, and on dedicated gossip frames to them,
//     so an update floods the overlay in a few hops. Streams deliver what
//     they accept, so a peer sends each update once to each member
//     (membership.Config.ReliableLinks), to up to λ·log n of them, not
//     λ·log n times to its few neighbours, and not back to a member that
//     sent it the same record while it waited to be sent. Suspicions are the exception:
//     one goes from its accuser to the accused alone
//     (membership.Config.LocalAccusations), and the several neighbours of a
//     crashed member, which each probed it, declare it dead on their own
//     evidence; their verdicts reach everyone, and make the verdict at
//     members that never talked to it. A member signs its verdicts of one
//     gossip round together (membership.Config.BatchVerdicts), and one that
//     a wave's verdicts missed asks a neighbour for its own
//     (membership.Config.AskVerdicts); a batch that arrives from its
//     declarer's own connection is applied unchecked
//     (membership.Config.DirectVerdicts). A member that its accuser
//     suspects answers that accuser alone, directly, instead of refuting
//     to everyone (membership.Config.AnswerAccusers), and answers its
//     reminders again while the accuser's timer, which each reminder
//     carries, has time left; where a refutation is still needed (the
//     accuser's last call), it reveals the next link of a hash chain the member
//     signed with its alive update (membership.Config.AliveChains), so that
//     checking it costs every member a hash, not a signature check. Answers
//     (acks, state replies) go to whoever asked, over a short-lived
//     connection if need be.
//   - What a peer remembers. Every peer keeps the whole member list (about
//     150 bytes a member): the origin check (origins.go) takes in a message
//     only from an origin it knows. membership.Config.MemberSample bounds
//     the list to a random sample for groups of a hundred thousand; the
//     simulator runs it (docs/overlay.md, "Sampled member lists"), a peer
//     does not offer it, since over a sample most origins are unknown.
//   - How gossip travels. The engine's peers are the neighbours: first
//     receipt pushes the body to neighbours, rounds announce it to
//     neighbours (only within 5 s of a loss the member saw:
//     core.Config.PlumRoundsAfterLoss), pull asks neighbours (while nothing new arrives,
//     every 2, 4, then 8 s: core.Config.PullIdleMax); a body still
//     reaches each member about once (the engine's Plumtree mode,
//     core/doc.go). The announcements on first receipt wait 10-20 ms on a
//     LAN and go only over links that both ends choose for the message, by
//     the end that got it first (core.Config.PlumAnnounceDelayCalls); a
//     member asks an announcer for a body it lacks 20-30 ms after the
//     announcement (core.Config.IWantDelayCalls), so a body lost with a
//     neighbour that crashed silently is fetched within tens of
//     milliseconds. An asked body is asked again of the next announcer
//     after the answers' measured round trip (core.Config.WantRTT).
//
// # Streams, and keeping probes apart from bulk gossip
//
// Frames are the shared core wire format, length-delimited
// (core.AppendLengthPrefixed / core.ReadFrame) on long-lived streams: one
// outgoing stream per peer and protocol, kept while in use, never one
// stream per message. Streams to a member are opened as soon as it joins
// (with an empty write, which sends libp2p's lazily negotiated protocol
// header), so a new member's first messages do not wait for negotiation and
// the start of traffic does not open every pair's streams in the same
// second. There are two protocols:
//
//   - /grapevine/1.0.0 carries gossip: message bodies, IHAVE, IWANT, pull
//     digests, and the membership updates piggybacked on them.
//   - /grapevine/swim/1.0.0 carries frames made only of membership records
//     (0x40-0x7f): pings, acks, ping-reqs, nacks, joins, state exchanges.
//
// Both IDs carry a per-group suffix (Protocols), so members of different
// groups never exchange frames even when they share hosts or a DHT.
//
// SWIM reads a missing ack as a sign of failure, so a probe must never wait
// behind a 1 MiB message. Each protocol therefore has, per peer, its own
// bounded queue and its own writer goroutine, and yamux interleaves the two
// streams on the connection, so a ping is written while a large body is
// still in flight. On the receiving side membership frames have their own
// inbox, and the driver serves it before the gossip inbox. A late ack is
// as bad as a lost one, so when the membership inbox is full the frame is
// dropped (counted); the gossip inbox instead applies back-pressure to its
// stream. Classification is by record type only (transport.go's classify),
// so it needs no cooperation from either state machine.
//
// Every outgoing queue is bounded in frames and bytes (WithQueues). Send,
// which the state machines call, never blocks: a frame that does not fit is
// dropped and counted (Stats.QueueDropped, grapevine_queue_dropped_frames_total);
// gossip recovers it by pull, membership by its own retries. A stream that
// fails drops what was queued for it (counted) and is reopened on the next
// frame. A writer goroutine runs only while its queue holds frames: it
// parks the open stream for the next one and exits, so a member in touch
// with many peers keeps no goroutine per idle peer; a stream unused for
// 30 s is closed by a periodic sweep, and one whose peer has no connection
// left is let go at once (Stats.StreamsReleased): it would hold its closed
// connection's state until the sweep.
//
// Memory per message is kept to what the store needs. Outgoing frames
// (the engine's, and membership's own frames of updates) are built in
// pooled buffers (core.FrameBuffers) that the writer recycles once written; an inbound body stays in the frame it
// arrived in (core.Config.KeepFrames); subscribers share that stored
// payload (Message.Data is read-only). With fifty peers in one process at
// 16 KiB per message this cut the memory allocated per benchmark run by a
// third (docs/benchmarks/p2p.md).
//
// # Bounds on what a peer can make this peer do
//
// Any host that knows a group's protocol IDs can open streams to a member,
// so every length prefix and advertised address is a claim to check, and
// every bound counts what it refused (Stats.Inbound, Stats.WriteTimeouts,
// Stats.AddrsRefused; grapevine_inbound_limited_total{reason},
// grapevine_write_timeouts_total, grapevine_addrs_refused_total,
// grapevine_log_suppressed_total).
//
// Inbound (inbound.go). A frame's length is checked against what this
// peer's own engine and memberlist may send (core.Config.MaxFrameSize for
// gossip, 1 MiB + 64 KiB by default; the memberlist's state chunk plus one
// entry, about 61 KiB, for membership), and the stream is reset above it.
// Nothing is allocated until the body arrives; the buffer then grows with
// the bytes received, each growth reserved first in the stream's resource
// scope (network.Stream.Scope().ReserveMemory), and the reservation is
// released only once the driver has stepped the frame, so the inboxes'
// frames count too. The resource manager bounds that memory per peer and
// protocol (AddProtocolPeerLimit: four gossip frames, sixteen membership
// frames, two inbound streams) and per protocol (AddProtocolLimit: 32 and
// 64 frames); a stream over them waits for its own frames to be stepped,
// and skips a frame (no_memory) if the memory is held by others for 2 s.
// One inbound stream is served per peer and protocol: a newer one replaces
// the older (duplicate), as in go-libp2p-pubsub. A stream on which no frame
// starts for InboundLimits.IdleTimeout (2 min) is reset (idle), 1.25 to
// 1.5 times that after its last frame (a sweep arms the deadline:
// idle.go), as is one
// whose frame is not complete FrameTimeout (30 s) after its length
// (slow_frame). Per peer and protocol, token buckets of 32 MiB/s and 8,192
// frames/s hold a faster sender back through flow control (throttled).
// Every offence a peer commits (messages failing verification, or what the
// engines report to core.Penalizer: malformed frames, bad or forged
// membership signatures and accusations, accusations of this peer it had
// to refute (charged to their signing accuser), floods of origins or relay
// requests, and an origin publishing over the rate of
// WithPublishRateLimit, by default 200 messages a second with bursts of
// 1,000; grapevine_penalties_total by reason, also Peer.Penalties) adds its
// weight to the peer's misbehaviour score, which halves every minute
// (grapevine.ScoreConfig, the Node's guard: 4 for what only a hostile peer
// sends, such as a malformed frame or a bad signature, 1 for the rest). A
// peer whose score rises above 16 (the fifth malformed frame, the 17th
// invalid message in a burst) is penalized (Peer.Penalized): disconnected
// and refused for a minute (a connection gater on the host the Peer
// builds), its already-read messages dropped unverified (penalized), and
// reported unreachable, so tree push routes around it. WithInboundLimits changes the rates and timeouts. A host
// given with WithHost keeps its own resource manager (AddGroupLimits adds
// the group's limits to its configuration) and has the gater only if it
// was built with one given to WithPenaltyGater (package wasm does both).
//
// Outbound. Each batch a writer flushes has a write deadline
// (WithWriteTimeout, 10 s, plus the batch's size at 64 KiB/s): a member
// that stops reading costs its queue (dropped, counted), its stream is
// reset, and it is reported unreachable to the tree push for 10 s although
// connected. Close resets every open stream, both directions, before it
// waits for writers and readers, so it returns in well under a second
// whatever the peers do, leaving no goroutine.
//
// Addresses (addrs.go). Addresses members advertise are vetted before
// libp2p may dial them: at most 8 per member, none claimed by two other
// members already, none whose dial failed within a per-address backoff
// (5 s doubling to 10 min); a failed address also leaves the claimant's
// peerstore entry. A peer's own address metadata is re-announced whenever
// the host's addresses change (event.EvtLocalAddressesUpdated).
//
// Logs. A warning caused by a peer's input (a message failing
// verification, a frame too large, ...) is logged at most once per reason
// per 10 s (WithLogRate); the lines held back are counted and summed up in
// one line. TCP listens without SO_REUSEPORT, so a port another process
// holds is an error (ErrAddrInUse), not silently shared.
//
// # How gossip uses the streams
//
// The gossip profile (profile.go) sends each member a message's body about
// once: along the message's own spanning tree of the group (core's tree
// push, six children per member, two or three hops for fifty members), with
// announcements to three random members in the next 200 ms round and a pull
// digest every second as repair. A peer whose streams broke with no
// connection left is reported unreachable to the engine for 10 s
// (core.Reachability), so the tree routes around a crashed member before
// membership declares it dead. docs/benchmarks/p2p.md measures this profile
// against GossipSub.
//
// # The driver
//
// One goroutine owns the state machine (core.Engine and
// membership.Memberlist composed, membership being the engine's peer
// sampler and piggybacker). Time goes by in ticks of the profile's length
// (100 ms; the membership profile's periods are counted in ticks) on a
// fixed grid; inbound frames are decoded once and stepped into both
// layers; API calls (Publish, Members, Stats) run between them. With
// WithTickSkipping(true) a tick in which the machine would only keep
// house is not woken for (tick_schedule.go): the driver asks the machine
// how many ticks may pass before one can send, deliver or emit anything
// (grapevine.Node.NextDue), sleeps until that tick, and runs the ticks it
// slept through back to back before any input that comes sooner, so the
// machine sees the same ticks and inputs in the same order; an idle peer
// wakes for a tick about twice a second instead of ten times (off by
// default: see the option). Before a tick, and before the
// finer timers that resend unacknowledged bodies and unanswered IWANTs or
// ask for gaps, the driver steps the frames already in its inboxes, so
// what has arrived is not asked for again. Deliveries go to Subscribe's
// channels and membership events to Events(), both bounded, with drop
// counters for slow readers. Close announces the leave, keeps ticking until
// the queues drain or WithLeaveGrace passes, then stops the driver,
// writers, readers and discovery and closes the DHT and the host.
//
// # Identity and authenticity
//
// A member's node ID is its libp2p peer ID (ed25519: the ID embeds the
// public key). Every message is signed by its origin over core.Message.ID()
// (domain-separated, see identity.go) and verified on receipt through
// core.Validator before it is stored, delivered or forwarded: a forged or
// altered message is dropped and counted (Stats.Invalid,
// grapevine_invalid_total). A message is taken in only once its origin is a
// member this peer knows (origins.go: held up to 3 s meanwhile, the sender
// asked for its view; a sender whose own view did not know the origin is
// charged "unknown_origin"). Replays are deduplicated by the engine by
// (origin, sequence number); a peer starts its sequence numbers at the
// current time in microseconds, so a restarted member's new messages are
// never mistaken for old ones. Membership updates about a member's own
// liveness (alive with a new incarnation, leave) are signed with the same
// key (membership.Config.Signer/Verifier) and dropped unless that member
// signed them.
//
// # Closed groups
//
// WithGroupAuthority admits only peers holding a member certificate signed
// by the group authority (cert.go: peer ID, group, validity, roles,
// serial); members present it in their membership metadata, membership
// consults it through membership.Config.Admit, the Validator drops
// messages from origins without the publish role, and frames from peers
// not admitted count for nothing (authority.go). Revocation lists
// (revocation.go) are signed and versioned and spread on RevocationTopic.
// WithPrivateNetwork (pnet, TCP and WebSocket only) additionally keeps
// non-members from connecting; certificates work on every transport,
// browsers included. docs/SECURITY.md has the trust model.
//
// # Finding members
//
// Bootstrap peers (WithBootstrap) are dialled with retries and exponential
// backoff and used as membership seeds; they are also the entry into a
// Kademlia DHT (go-libp2p-kad-dht, protocol prefix /grapevine by default, a
// DHT of Grapevine peers). Each member advertises itself under GroupKey(group)
// and looks up other advertisers; random walks (lookups of random keys,
// every 30 s) meet a fresh sample of DHT peers, and those speaking
// Grapevine are handed to membership's Join, so a member that knows one
// bootstrap peer reaches a uniform view of the group. Seeds (WithSeeds) join
// directly with no DHT, and mDNS (WithMDNS) finds members on a LAN. Members
// carry their listen addresses in their membership metadata, so any member
// learned through gossip can be dialled.
//
// A peer given many seeds dials at most eight at a time (seeds.go), in a
// random order, asks membership to join through each one reached, and once
// it has joined leaves the rest alone, looking at them again every minute
// and dialling only those membership still does not know (a part of the
// group it never met). Joining through two at a time was measured and not
// made the default (docs/benchmarks/ladder.md, session 41).
//
// # Durable delivery
//
// Delivery is per origin in sequence order (core's FIFO, on in every
// profile): a message that arrives ahead of a gap is held back until the
// gap fills (pull runs at every tick while anything is held), FIFOTimeout
// passes (the gap is then given up: Stats.Engine.FIFOLost) or MaxHeld is
// reached. An origin's first message of a numbering (its first after a
// start or restart) is marked First, signed with the rest, and starts the
// order on arrival. A peer that first hears of an origin in mid-stream
// holds that origin's first messages FIFOStart (two ticks) so that one
// overtaken in flight starts the order instead of being passed over;
// one overtaken for longer, or published while this peer was joining and
// not yet known to the group, is delivered late, out of order, rather than
// never (DurableStats.LateDelivered). When membership sees a member rejoin
// after it failed or left, its order starts anew. With FIFO on, a pull answer carries the oldest messages the
// asker lacks, so catching up moves its cursors on at every answer.
//
// WithDataDir(dir) keeps in dir one bbolt database (go.etcd.io/bbolt,
// grapevine.db; chosen over pebble because the data is small and read
// once at start: a single-file B+tree with copy-on-write pages needs no
// compaction, is pure Go, and is what etcd keeps its state in) behind a
// redo log of two preallocated files (grapevine.wal.0 and .1, 1 MiB each):
// a commit is one checksummed record in the log and one fdatasync, where a
// bbolt transaction takes two; the log's records go into bbolt one file at
// a time in the background, and are replayed at start if a crash came
// first (a record torn by power loss ends the log there: its commit never
// returned). It holds:
//
//   - per origin, the delivery watermark: the highest sequence number
//     delivered (with FIFO everything at or below it was delivered or
//     given up) and when;
//   - the messages delivered (this peer's own included), bounded like the
//     engine's store: MaxStoreMessages, MaxStoreBytes and StoreTTL ticks
//     (30 s with the default profiles), oldest dropped first;
//   - the sequence-number reservation: this peer publishes only numbers
//     below a bound that is on disk; the bound is raised by 1,024 (one
//     fsync) whenever half of the reserved block is used, and set to the
//     exact next number on Close;
//   - the time of the first start with the directory (see History).
//
// A delivery reaches subscribers only after the commit holding its
// message and watermark has been fsynced. Deliveries that arrive while one
// transaction is being written go into the next (group commit), so a burst
// costs one fsync, not one per message. A peer killed at any point
// (kill -9, power loss) has therefore handed nothing to its subscribers
// that is not on disk; what it had received but not yet committed is
// pulled again.
//
// Handed to a subscriber is not yet handled by the application: a kill
// after the commit and before the application used the message (printed
// it, wrote it elsewhere) would lose it to the application. An
// acknowledged subscription (Subscribe with WithAcks) closes that gap.
// The application acknowledges each message once it has handled it
// (Message.Ack); the peer keeps per origin an acknowledgement floor (every
// delivery of the origin at or below it was acknowledged by every
// acknowledged subscription it went to) and commits it with the origin's
// watermark, at the next group commit after an acknowledgement moves it.
// Every delivery is tracked from its commit to its dispatch, so one
// committed before the first acknowledged subscription existed (held by
// the history window, say) is covered as well, and a late delivery below
// the floor lowers it. The topics that have had an acknowledged
// subscription are recorded on disk, with the next commit after the first
// one is made (Subscribe does not wait for it: a crash within that one
// commit's time forgets the topic, and what the subscription took then is
// not given again). After a
// restart, the stored messages of those topics above an origin's floor
// and at or below its watermark go, oldest first and with Redelivered set,
// to the first acknowledged subscription of their topic, ahead of
// anything newer (subscribe right after New). Delivery to such a
// subscription is at least once: a crash after the application handled a
// message and before the floor passing it was on disk repeats that
// message, marked. Being a floor, it also repeats a message acknowledged
// after an earlier one of its origin that was not (a subscription that
// acknowledges in order, as `peer run` does, never sees that). The
// browser tab does not use it: its callback runs inside the page's
// pagehide event when a commit is cut off there (package wasm), so a
// reload, which is no crash, loses nothing, where an acknowledgement still
// on its way to IndexedDB at a reload would repeat a message (a test
// caught it). A message the subscription dropped (its buffer full) is not
// acknowledged either, so a restart gives it again. Close waits up to a
// second, while acknowledgements keep coming, for the application to
// acknowledge what its acknowledged subscriptions hold, then commits the
// floors; what is acknowledged later is given again after the restart.
// Unacknowledged deliveries are bounded by MaxStoreMessages and given up
// with their log record (DurableStats.AcksAbandoned). The floors came
// with version 2 of the directory's records: it reads version 1, and a
// version 1 binary refuses it rather than misreading it.
//
// At start the peer reads the directory before it joins: watermarks become
// the engine's seen-state and delivery cursors (core.Engine.Restore), so
// nothing at or below them is delivered again, whether it arrives by push,
// announcement or pull; stored messages younger than StoreTTL go back into
// the engine's store as held messages, neither delivered nor pushed again
// but served to members that pull them (this is what makes a whole-group
// restart lose nothing within retention); the first sequence number is the
// reservation bound, above anything the previous life may have used, and
// a new block is reserved before the engine starts. A watermark older than
// the replay window (WithReplayWindow) plus clock skew is dropped: every
// message it guards is refused by its timestamp anyway. Then the peer pulls
// (at every tick for its first 3 s, then while anything is held back)
// what was published while it was down from its neighbours' stores, within
// their retention, and delivers it in each origin's order before newer
// messages of the same origin. One peer at a time may use a directory (a
// second gets an error after a second).
//
// What is not covered: a message published by this peer and not yet
// committed when it is killed is neither delivered locally after the
// restart nor necessarily sent, and its number is not reused; after such a
// crash the unused rest of the block is a gap that receivers hold the
// peer's next messages behind until FIFOTimeout (or until membership sees
// the peer rejoin) and report as lost. Without FIFO (WithEngineConfig) the
// watermark is the highest number delivered, so a crash may lose, never
// repeat, a message that was still behind a gap. A commit that fails (disk
// full) is logged and counted (DurableStats.CommitErrors) and the
// deliveries still go out. WithStore takes another database than bbolt
// with the same records and rules: a browser tab keeps them in IndexedDB
// (package wasm, options.persist) and reserves one number at a time
// (WithSeqReservation(1)), so that a reload leaves no gap.
//
// History (WithHistory) says what a member receives of what was published
// before it first joined, judged by the origin's signed timestamp against
// the member's first start (with a data directory: ever; without, this
// process): nothing (HistoryNone, the default), the last K per topic
// (HistoryLast: gathered for HistoryWait after joining while pulling at
// every tick and holding newer deliveries back, then handed over oldest
// first), or everything the group still holds (HistoryAll). A member
// restarted with its data directory is not a newcomer: it receives what was
// published while it was down, and no history again.
//
// # Observability
//
// Logging goes through go-log/v2 (logger "grapevine"; GOLOG_LOG_LEVEL works
// as for the rest of libp2p). WithMetrics registers Prometheus collectors:
// frames and bytes in and out by kind (gossip, membership), deliveries,
// duplicates, invalid messages, queue and buffer drops, the delivery
// latency histogram (origin timestamp to delivery), members by state, probe
// round-trip times (ping to ack) and the engine's bounded-state drops.
// Peer.Stats returns every counter; the state machines' are read on the
// driver, so it waits for the driver's turn. Peer.StatsNow does not wait:
// it returns every counter as the driver copied them last, once a second
// of ticks, so a monitor of a peer that runs seconds behind still gets an
// answer at once.
package p2p
