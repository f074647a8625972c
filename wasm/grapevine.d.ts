// Type declarations for grapevine.js, the browser API of Grapevine.

export interface StartOptions {
  /** Native peers' WebSocket multiaddrs (http pages) or WebTransport and WebRTC-direct ones, .../quic-v1/webtransport/certhash/..., .../webrtc-direct/certhash/... (https pages), each ending in /p2p/<peer ID>; at least one must answer. */
  bootstrap: string[];
  /** The group to join (default "default"). */
  group?: string;
  /** Timing profile; use the native peers' profile (default "lan"). */
  profile?: 'lan' | 'wan' | 'local';
  /** Direct browser-to-browser WebRTC connections (default true). */
  webrtc?: boolean;
  /** STUN/TURN servers for WebRTC, e.g. "stun:stun.example.org:3478", "turn:user:pass@turn.example.org:3478". */
  iceServers?: string[];
  /** Answer WebRTC signalling from peers that are not members of the group (a js-libp2p node dialing this tab's /p2p-circuit/webrtc address). Default false: members only, so strangers never learn this tab's ICE candidates. */
  webrtcFromNonMembers?: boolean;
  /** A private key from node.exportIdentity(), to keep the peer ID across starts (default: a fresh one). */
  identity?: string;
  /**
   * Keep this tab's state in IndexedDB under this name (database "grapevine/<name>"), so that after a
   * reload a start with the same name rejoins as the same peer: its identity key, per-origin delivery
   * watermarks, recent messages (served to members that pull them) and sequence numbers are kept. A
   * message is handed to subscribers only after its watermark is committed (strict durability), so a
   * reload never delivers it again; what was published while the tab was away is pulled from the
   * members, within their retention (30 s with the default profiles); the tab's own numbering continues
   * without reuse or gap. Subscribe right after `await Grapevine.start(...)`, before any other await:
   * messages caught up after a reload go to the topics subscribed when they arrive, and are not
   * delivered again. One running node per name per site (a second start gets an error). With
   * identity too, it must be the stored one (or the name is new). Default: everything in memory.
   * Details and the remaining windows: wasm/doc.go, "Persistence across reloads".
   */
  persist?: string;
  /** How long to wait for the first bootstrap peer (default 15000). */
  connectTimeoutMs?: number;
  /** Closed group: the base64 of the authority's public key file ("peer authority new" writes FILE.pub). */
  authorityPublicKey?: string;
  /** Closed group: the base64 of this peer's certificate ("peer authority issue"); it is issued to a peer ID, so pass the matching identity too. */
  certificate?: string;
  /** Closed group: the base64 of the group's revocation list ("peer authority revoke"); members also spread it to each other. */
  revocations?: string;
  /** Receives status lines (an unreachable peer being retried, ...). */
  onNotice?: (line: string) => void;
  /** Where to load grapevine.wasm from (default: next to grapevine.js). */
  wasmUrl?: string;
  /** Where to load Go's wasm_exec.js from (default: next to grapevine.js). */
  wasmExecUrl?: string;
}

export interface Message {
  /** Peer ID of the publisher (verified by its signature). */
  from: string;
  /** The publisher's sequence number. */
  seq: number;
  /** from + "/" + seq: unique per message. */
  key: string;
  topic: string;
  data: Uint8Array;
  /** data decoded as UTF-8. */
  readonly text: string;
  /** Publisher's clock at publish, milliseconds since the Unix epoch. */
  timestamp: number;
  /** Local delivery time minus timestamp (includes clock skew). */
  latencyMs: number;
  /** Published by this node. */
  local: boolean;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Member {
  id: string;
  state: MemberState;
  incarnation: number;
  self: boolean;
  /** Addresses the member advertises (browsers advertise .../p2p-circuit/webrtc). */
  addrs: string[];
}

export type MemberEventKind = 'join' | 'update' | 'suspect' | 'alive' | 'fail' | 'leave' | 'rejoin';

export interface MemberEvent {
  kind: MemberEventKind;
  member: Member;
}

export interface Connection {
  peer: string;
  transport: 'websocket' | 'webtransport' | 'webrtc-direct' | 'webrtc' | 'relay';
  addr: string;
  outbound: boolean;
  /** Data-channel bytes received and sent (WebRTC only; 0 for WebSocket). */
  bytesIn: number;
  bytesOut: number;
}

export interface Stats {
  delivered: number;
  published: number;
  duplicates: number;
  framesSent: number;
  bytesSent: number;
  framesIn: number;
  bytesIn: number;
  queueDropped: number;
  invalid: number;
  subDropped: number;
  /** The tab's bounds under pressure (counters since start, and its Go heap). */
  transport: TransportStats;
  /** options.persist: what was restored at start and written since (all 0 without it). */
  persist: PersistStats;
}

/** options.persist's counters. */
export interface PersistStats {
  /** Origins whose delivery watermark was restored at start. */
  restoredOrigins: number;
  /** Recent messages restored at start (held, served to pulls, not delivered again). */
  restoredMessages: number;
  /** IndexedDB transactions written; those that failed (deliveries still went out). */
  commits: number;
  commitErrors: number;
  /** Messages kept in IndexedDB now. */
  stored: number;
}

/** What the tab's bounds refused or delayed (docs/SECURITY.md, "The browser tab"). */
export interface TransportStats {
  /** Inbound streams: reset for a frame above the protocol's cap, replaced by a newer one, idle, too slow; frames skipped for lack of memory, delayed by the per-peer rate; messages of a penalized peer dropped. */
  inTooLarge: number;
  inDuplicate: number;
  inIdle: number;
  inSlowFrame: number;
  inNoMemory: number;
  inThrottled: number;
  inPenalized: number;
  /** Inbound frames dropped: driver inbox full. */
  inDropped: number;
  /** Inbound frames that did not decode. */
  decodeErrors: number;
  /** Messages whose signature did not verify. */
  invalid: number;
  /** WebRTC signalling (/webrtc-signaling/0.0.1 over a relayed connection): exchanges answered; refused (not relayed, or caller or relay not a member); reset (slots taken); broken off. */
  signalAnswered: number;
  signalRefused: number;
  signalBusy: number;
  signalFailed: number;
  /** WebRTC streams reset (accept backlog full) and data channels closed (unread bytes over the connection's bound). */
  rtcDropped: number;
  /** Native relays holding a circuit relay v2 reservation for this tab. */
  relays: number;
  /** Refused by the resource manager: connections, streams, memory reservations; memory reserved now (bytes). */
  rcmgrConns: number;
  rcmgrStreams: number;
  rcmgrMemory: number;
  rcmgrReserved: number;
  /** The Go runtime in the tab: heap in use and obtained (bytes), goroutines. */
  heapAlloc: number;
  heapSys: number;
  goroutines: number;
}

export interface PublishResult {
  origin: string;
  seq: number;
  key: string;
}

export declare class GrapevineNode {
  /** This node's peer ID. */
  readonly id: string;
  publish(topic: string, data: string | Uint8Array | ArrayBuffer | ArrayBufferView): Promise<PublishResult>;
  /** Returns a function that ends the subscription. */
  subscribe(topic: string, cb: (msg: Message) => void): () => boolean;
  on(event: 'member' | MemberEventKind, cb: (ev: MemberEvent) => void): this;
  off(event: 'member' | MemberEventKind, cb: (ev: MemberEvent) => void): this;
  members(): Member[];
  connections(): Connection[];
  stats(): Promise<Stats>;
  /** This node's private key (base64), for options.identity. Keep it secret. */
  exportIdentity(): string;
  close(): Promise<void>;
}

export declare const Grapevine: {
  start(options: StartOptions): Promise<GrapevineNode>;
  readonly version: string | undefined;
};

export default Grapevine;
