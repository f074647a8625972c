// Package wasm runs a Grapevine peer in a web browser.
//
// Built with GOOS=js GOARCH=wasm (scripts/build-wasm.sh builds
// wasm/cmd/grapevine into grapevine.wasm), the browser peer is the same
// p2p.Peer that native peers run: the same core gossip engine, the same
// SWIM + Lifeguard memberlist, the same libp2p protocols (/grapevine/1.0.0
// for gossip, /grapevine/swim/1.0.0 for membership), the same signatures.
// A tab is a full member of the group: it gossips, answers probes, probes
// others, and is declared failed when it goes away. JavaScript uses it
// through grapevine.js (an ES module; types in grapevine.d.ts):
//
//	import { Grapevine } from './grapevine.js';
//	const node = await Grapevine.start({bootstrap: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW...'], group: 'chat'});
//	node.subscribe('news', (m) => console.log(m.from, m.text));
//	await node.publish('news', 'hello');
//	node.on('member', (ev) => console.log(ev.kind, ev.member.id, ev.member.state));
//	console.log(node.members());
//	await node.close();
//
// A tab that closes without node.close() is detected as failed by SWIM,
// like a crashed process; call close() (for example on the pagehide event)
// to leave gracefully instead. The peer ID is fresh on every start unless
// the page passes options.identity, a key from node.exportIdentity() (one
// identity must not run in two tabs at once), or options.persist (below).
// Go programs compiled to wasm can use Start directly.
//
// # Persistence across reloads
//
// With options.persist: "name" (Options.Persist) the tab keeps, in the
// IndexedDB database "grapevine/name" of its site, what a native peer
// keeps in its data directory (p2p.WithDataDir), and so behaves across a
// reload, a closed tab or a crashed browser as a native peer does across
// kill -9:
//
//   - its identity key (object store "tab"): the first start stores
//     options.identity or a fresh key, later starts take the stored one,
//     so the peer ID survives reloads (an options.identity that differs
//     from the stored one is an error);
//   - per origin, the delivery watermark, the recent messages it delivered
//     (bounded by count, bytes and age as the engine's store is: 30 s with
//     the default profiles) and its sequence-number reservation, in the
//     object stores "meta", "watermarks" and "messages": the records of
//     p2p.Store, which package p2p encodes, checks when it reads them back
//     and restores into the engine (core.Engine.Restore), exactly as for a
//     data directory (p2p/doc.go, "Durable delivery"). The IndexedDB code
//     (idb_js.go) only moves bytes.
//
// After a reload the tab rejoins as the same peer, delivers nothing at or
// below a watermark (whether it comes by push, announcement or pull),
// serves its recent messages to members that pull them, and pulls at every
// tick for its first 3 s what was published while it was away, within the
// members' retention, delivering it in each origin's order. Its own
// numbering continues at the next unused number: the tab reserves one
// number at a time (p2p.WithSeqReservation(1): one IndexedDB commit before
// each publish but the first after a start, whose number the start
// reserved; publish's promise resolves after it), so a reload leaves no gap
// that receivers would hold its next message behind, and never reuses a
// number.
//
// IndexedDB is asynchronous; the Go side blocks the committing goroutine
// until the transaction's complete event (requested with durability
// "strict": the browser flushes it to disk first) and only then hands the
// deliveries of that transaction to subscribers, as a native peer does
// after fsync (deliveries that arrive meanwhile share the next
// transaction). Between the complete event and the subscriber's callback
// the Go runtime does not return to the browser's event loop, so a reload
// or navigation, which is a task of that loop, cannot fall in between. It
// can fall during a commit, though: the browser then may complete the
// transaction after the page is gone without the page ever seeing the
// complete event (the browser test lost the message in flight this way in
// 3 runs of 5). So at pagehide (pagehide_js.go) a commit in flight stops
// waiting and its deliveries go to the subscribers inside the pagehide
// event; a commit begun after pagehide waits for the page to be shown
// again (pageshow, from the back-forward cache), so its deliveries are
// neither recorded nor handed over and are pulled after the reload.
// The windows that remain:
//
//   - the browser aborts rather than completes the transaction in flight at
//     pagehide: its messages, already handed over, are delivered again after
//     the reload (not seen in the tests: Chromium completes it);
//   - the browser or the machine crashes (no pagehide) between the complete
//     event reaching the browser's database and the page: those messages
//     are recorded and never handed over, the native peer's window between
//     fsync and dispatch;
//   - the page's side: a catch-up delivery reaches only topics subscribed
//     when it is dispatched, so subscribe in the same task as
//     Grapevine.start resolves (right after the await, before any other
//     await: no delivery can be dispatched before that task ends, since
//     dispatch waits for an IndexedDB event); and a callback that saves the
//     message asynchronously (its own IndexedDB write, a fetch) can lose it
//     to a reload in between.
//
// One running node per name per site: the name is held with a Web Lock
// (navigator.locks) while the node runs, and a second start with it, in
// this tab or another, fails with "in use by another tab"; the browser
// releases the lock when the page goes away. On an insecure page without
// the Web Locks API nothing prevents two. Use one name per identity a user
// should have (for example per user of the site); to start afresh delete
// the database (indexedDB.deleteDatabase("grapevine/name")) while no node
// uses it. node.stats().persist counts what was restored and written. A
// private window keeps IndexedDB only until it closes.
//
// # The host
//
// go-libp2p's libp2p.New cannot run in a browser (it always links
// transports that need sockets), so the peer assembles its libp2p host from
// the parts that can: an in-memory peerstore, a swarm, the upgrader with
// Noise and yamux, and blankhost (multistream-select) with identify, ping
// and basichost's stream logic (not basichost itself, which links AutoNAT,
// hole punching, the relay service and UPnP; see
// docs/benchmarks/wasm.md). It has an
// ed25519 identity of its own (a fresh one per start unless
// Options.Identity is set) and four transports:
//
//   - WebSocket (dial only): the browser's WebSocket API, through
//     github.com/coder/websocket, carries a raw connection that the upgrader
//     secures with Noise and multiplexes with yamux, exactly what go-libp2p's
//     /ws listener on a native peer expects. Native peers need nothing but a
//     /ws (or, for https pages, /wss or /tls/ws) listen address; they run no
//     gateway and treat the tab like any other member.
//   - WebTransport (dial only; what an https page uses, since it may not
//     open ws://): the browser's WebTransport API dials a native peer's
//     /udp/<port>/quic-v1/webtransport/certhash/<hash>... address, which
//     native peers listen on by default (go-libp2p's WebTransport
//     transport, on the QUIC port). The native needs no CA certificate: it
//     generates its own (ECDSA, valid 14 days, rotated, derived from its
//     key) and advertises the SHA-256 of the current and next one as
//     /certhash; the page passes them as serverCertificateHashes and the
//     browser accepts exactly those certificates. Then, as libp2p/specs
//     webtransport/webtransport.md requires, the first stream runs Noise XX
//     (proving the peer ID), the native's handshake payload lists its
//     certhashes and the tab checks that every hash it dialled is among
//     them; each libp2p stream is then one WebTransport bidirectional
//     stream (QUIC multiplexes; no yamux). The tab tries WebTransport
//     addresses first on https pages and WebSocket ones first on http
//     pages (rankDialsFor). A certhash goes stale when the certificate
//     rotates (within two weeks): pages should get the natives' addresses
//     when they load (as the example's config.json does), not hard-code
//     them.
//   - WebRTC-direct (dial only; the other https path): the browser's
//     RTCPeerConnection dials a native peer's /udp/<port>/webrtc-direct/
//     certhash/<hash> address (go-libp2p's WebRTC transport, listening by
//     default on the QUIC port). Following libp2p/specs
//     webrtc/webrtc-direct.md, the tab makes an ordinary offer and builds
//     the server's answer from the multiaddr: ICE-lite, the address as the
//     only candidate, the certhash as DTLS fingerprint (so the browser
//     accepts that certificate only), and version 2 ICE credentials (the
//     server's ufrag is "libp2p+webrtc+v2/" plus the tab's own ICE
//     password, so no SDP munging, which Chromium is phasing out). On the
//     pre-negotiated data channel 0 the native starts Noise XX, the tab
//     answers, with a prologue holding both DTLS fingerprints; then each
//     libp2p stream is one data channel carrying the spec's framed
//     messages (wrdstream_js.go, go-libp2p's stream code). The native's
//     DTLS certificate is derived from its key, so this certhash does not
//     change.
//   - WebRTC (browser to browser), libp2p's, as libp2p/specs
//     webrtc/webrtc.md defines it: each libp2p stream is one data channel
//     carrying the same framed messages as WebRTC-direct (wrdstream_js.go),
//     on an RTCPeerConnection made through wasm/internal/jsrtc (the part
//     of pion/webrtc's js wrapper the tab uses, without pion's Go DTLS and
//     ICE). There is no Noise handshake and no yamux: the SDPs, which hold
//     each side's DTLS fingerprint, were exchanged over a relayed libp2p
//     connection that Noise authenticated, so the browsers' DTLS handshake
//     proves the peers (the spec's FAQ); the remote identity is the
//     relayed connection's.
//
// # Signalling
//
// A tab cannot accept connections. It reserves a slot (circuit relay v2,
// libp2p/specs relay/circuit-v2.md, go-libp2p's circuitv2 client) on up
// to two native peers it bootstrapped through, which run go-libp2p's
// relay service (p2p.WithRelayService, on by default on natives that
// browsers can reach), and advertises, for each reservation, addresses of
// the form
//
//	/ip4/198.51.100.7/tcp/4001/ws/p2p/<relay>/p2p-circuit/webrtc/p2p/<tab>
//
// (one per kind of relay address a browser dials: WebSocket, WebTransport,
// WebRTC-direct). It refreshes a reservation at half its lifetime and
// withdraws the address when the relay goes; a relay that fails twice in
// a row is replaced by another member it is connected to that runs the
// relay service (identify lists /libp2p/circuit/relay/0.2.0/hop), so a tab
// whose bootstrap peers all went stays reachable. When tab A first sends to
// tab B, its swarm dials such an address: A opens a relayed connection to
// B through the relay (Noise and yamux over the circuit), opens a
// /webrtc-signaling/0.0.1 stream on it and, as js-libp2p's @libp2p/webrtc
// does, creates an "init" data channel, sends its SDP offer, reads B's
// answer, and both sides trickle their ICE candidates as they find them
// (varint-length-prefixed protobuf messages SDP_OFFER, SDP_ANSWER,
// ICE_CANDIDATE; signalmsg.go) until the peer connection is connected;
// then both close the stream and A closes the relayed connection (B closes
// relayed connections after 35 s: they are for signalling only). The relay
// only relays: it cannot read the exchange or impersonate a peer, and
// cuts every circuit after 2 minutes or 128 KiB (p2p.RelayResources).
// Natives never dial these addresses (go-libp2p has no browser-to-browser
// WebRTC); they reach tabs when tabs connect to them.
//
// A tab answers only on a relayed connection, only a caller that is a
// current member of its group (alive or suspect in its membership view;
// in a closed group that means admitted by certificate), relayed by a
// member: anyone else has the stream reset before the tab reads the offer
// or sends anything, so its ICE candidates (with a STUN server, its public
// address) never reach a stranger (SignalStats). Options.WebRTCFromNonMembers
// (JS webrtcFromNonMembers) lifts this for pages that want any libp2p peer
// to reach them: js-libp2p's @libp2p/webrtc then dials a tab's address and
// runs identify and ping over the link (TestJSLibp2pDialsTab, js-libp2p
// from npm). A tab answers at most 8 exchanges at once, at most 4
// through one relay, each within 30 s. From then on the relay is not
// involved: if it crashes, the tabs keep
// gossiping and probing each other over their data channels (the browser
// test kills the relay and checks exactly that). A WebRTC connection
// bounds what it buffers: at most 64 streams the swarm has not accepted
// yet, 8 MiB received and not read over all its data channels (16 MiB on
// one); beyond, the stream is reset or the channel closed, and counted
// (SignalStats.Dropped).
//
// # Loopback, NATs and deployment
//
// On one machine or a flat LAN no ICE server is needed: the browsers'
// host candidates reach each other directly (the browser test runs two
// headless Chromium tabs on one machine with no ICE server at all). Across NATs, set Options.ICEServers (JS: iceServers) to a STUN
// server ("stun:stun.example.org:3478") so browsers learn their public
// addresses; symmetric NATs and restrictive firewalls need a TURN server
// ("turn:user:password@turn.example.org:3478"), which relays the
// (encrypted) data-channel traffic. A deployment also needs, on at least
// one native peer that browsers bootstrap from: a WebSocket listen address
// the browser can reach, or for a page served over https its WebTransport
// or WebRTC-direct address (UDP open in the firewall; or a /wss or /tls/ws
// address with a certificate the browser trusts); its relay service (on by
// default there) lets tabs signal through it. Tabs that cannot make a
// WebRTC connection still reach
// everyone through the native peers; only the direct tab-to-tab links are
// missing.
//
// # Limits
//
// A tab is woken by the browser's timers: background tabs are throttled
// (Chromium runs their timers about once a second, or less),
// so with the LAN profile a tab left in the background for long may be
// suspected and must refute; the WAN profile tolerates this better. Inbound
// data-channel bytes not yet read are bounded (above) and a stream's
// writer pauses while the browser buffers two 16 KiB messages of it. A
// tab keeps at most 64 connections (libp2p's connection
// manager trims to 32, sparing group members it gossips with first), and
// go-libp2p's resource manager holds it to small fixed limits (TabLimits:
// 96 connections, 768 streams, 128 MiB reserved; per peer 8 connections,
// 32 inbound streams, 24 MiB) plus the per-peer limits of the group's
// protocols that native peers have (p2p.AddGroupLimits); what it refuses
// is counted (ResourceStats). The tab's p2p.Peer reads its streams through
// the same inbound path as a native peer (frame caps, memory reserved
// before buffering, one stream per peer and protocol, deadlines, per-peer
// rates; p2p/inbound.go), and the host has the Peer's penalty gater, so a
// peer penalized for forged messages is not redialled for a minute. The
// stripped wasm is about 18.7 MiB, 4.6 MiB gzipped, 3.4 MiB with brotli
// (docs/benchmarks/wasm.md: what it links, by package; the resource
// manager adds 0.1 MiB gzipped).
package wasm
