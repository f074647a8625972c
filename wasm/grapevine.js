// grapevine.js: the browser API of Grapevine, an ES module that loads the
// Grapevine WebAssembly peer (grapevine.wasm, built by scripts/build-wasm.sh)
// and Go's wasm_exec.js, and wraps them in a Promise-based API.
//
//   import { Grapevine } from './grapevine.js';
//   const node = await Grapevine.start({ bootstrap: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW...'], group: 'chat' });
//   node.subscribe('news', (msg) => console.log(msg.from, msg.text));
//   await node.publish('news', 'hello');
//   node.on('member', (ev) => console.log(ev.kind, ev.member.id));
//   await node.close();
//
// With { persist: 'my-chat' } the tab keeps its identity and what it has
// delivered in IndexedDB: a reload rejoins as the same peer, delivers
// nothing twice and catches up on what it missed (grapevine.d.ts).
//
// Types: grapevine.d.ts. How the peer works: wasm/doc.go.

let runtime = null; // Promise of the Go side's entry point (one Go runtime per page)

function fail(msg, cause) {
  const e = new Error('Grapevine: ' + msg);
  if (cause) e.cause = cause;
  return e;
}

async function loadRuntime(opts) {
  if (runtime) return runtime;
  const wasmUrl = opts.wasmUrl || new URL('./grapevine.wasm', import.meta.url).href;
  const execUrl = opts.wasmExecUrl || new URL('./wasm_exec.js', import.meta.url).href;
  runtime = (async () => {
    if (typeof WebAssembly !== 'object') throw fail('this browser has no WebAssembly support');
    if (typeof globalThis.Go !== 'function') {
      try {
        await import(execUrl);
      } catch (err) {
        throw fail(`could not load Go's wasm_exec.js from ${execUrl} (copy it from $(go env GOROOT)/lib/wasm/ next to grapevine.js, or pass wasmExecUrl)`, err);
      }
      if (typeof globalThis.Go !== 'function') throw fail(`${execUrl} did not define Go: is it Go's wasm_exec.js?`);
    }
    const go = new globalThis.Go();
    let resp;
    try {
      resp = await fetch(wasmUrl);
    } catch (err) {
      throw fail(`could not fetch ${wasmUrl}: ${err.message}`, err);
    }
    if (!resp.ok) throw fail(`could not fetch ${wasmUrl}: HTTP ${resp.status} (build it with scripts/build-wasm.sh, or pass wasmUrl)`);
    let instance;
    try {
      if (WebAssembly.instantiateStreaming && (resp.headers.get('content-type') || '').startsWith('application/wasm')) {
        ({ instance } = await WebAssembly.instantiateStreaming(resp, go.importObject));
      } else {
        ({ instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject));
      }
    } catch (err) {
      throw fail(`${wasmUrl} is not a Grapevine WebAssembly build for this wasm_exec.js (${err.message}); rebuild both with the same Go version`, err);
    }
    const ready = new Promise((resolve) => { globalThis.__grapevineReady = resolve; });
    go.run(instance).then(() => { runtime = null; });
    await ready;
    return globalThis.__grapevine;
  })();
  runtime.catch(() => { runtime = null; });
  return runtime;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EVENT_KINDS = ['join', 'update', 'suspect', 'alive', 'fail', 'leave', 'rejoin'];

/** A running Grapevine peer in this page. Create it with Grapevine.start. */
export class GrapevineNode {
  #h;
  #listeners = new Map(); // event name -> Set of callbacks
  #closed = false;

  constructor(handle) {
    this.#h = handle;
    /** This peer's libp2p peer ID (base58, 12D3KooW...). */
    this.id = handle.id;
    const err = handle.onEvent((ev) => {
      this.#emit('member', ev);
      this.#emit(ev.kind, ev);
    });
    if (err instanceof Error) throw err;
  }

  #emit(name, ev) {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const cb of [...set]) {
      try { cb(ev); } catch (err) { console.error('Grapevine: a "' + name + '" listener threw', err); }
    }
  }

  #check(what) {
    if (this.#closed) throw fail(`${what}: the node is closed`);
  }

  /** Publish data (a string, Uint8Array or ArrayBuffer) on topic to the whole group. */
  async publish(topic, data) {
    this.#check('publish');
    if (typeof topic !== 'string' || topic === '') throw fail('publish(topic, data): topic must be a non-empty string');
    if (typeof data === 'string') data = encoder.encode(data);
    else if (data instanceof ArrayBuffer) data = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else throw fail('publish(topic, data): data must be a string, Uint8Array or ArrayBuffer');
    return this.#h.publish(topic, data);
  }

  /** Call cb for every message on topic from now on; returns a function that unsubscribes. */
  subscribe(topic, cb) {
    this.#check('subscribe');
    if (typeof topic !== 'string' || topic === '') throw fail('subscribe(topic, cb): topic must be a non-empty string');
    if (typeof cb !== 'function') throw fail('subscribe(topic, cb): cb must be a function');
    const id = this.#h.subscribe(topic, (m) => {
      Object.defineProperty(m, 'text', { get() { return decoder.decode(m.data); }, enumerable: true });
      cb(m);
    });
    if (id instanceof Error) throw id;
    return () => this.#h.unsubscribe(id);
  }

  /**
   * Listen to membership events: 'member' (every event) or one kind:
   * 'join', 'update', 'suspect', 'alive', 'fail', 'leave', 'rejoin'.
   */
  on(event, cb) {
    if (event !== 'member' && !EVENT_KINDS.includes(event)) {
      throw fail(`on(event, cb): unknown event "${event}" (use 'member' or one of ${EVENT_KINDS.join(', ')})`);
    }
    if (typeof cb !== 'function') throw fail('on(event, cb): cb must be a function');
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(cb);
    return this;
  }

  /** Remove a listener added with on. */
  off(event, cb) {
    this.#listeners.get(event)?.delete(cb);
    return this;
  }

  /** The membership view (this peer included), refreshed several times a second. */
  members() {
    return this.#h.members();
  }

  /** This peer's live connections and their transports ('websocket', 'webtransport', 'webrtc-direct', 'webrtc', or 'relay': a circuit relay v2 connection, which carries WebRTC signalling only). */
  connections() {
    return this.#h.connections();
  }

  /**
   * This node's private key, base64: pass it as options.identity to a later
   * start to keep the same peer ID (store it like a password; one identity
   * must not run in two tabs at once).
   */
  exportIdentity() {
    const v = this.#h.exportIdentity();
    if (v instanceof Error) throw v;
    return v;
  }

  /** Counters: messages delivered, frames and bytes in and out, drops. */
  stats() {
    return this.#h.stats();
  }

  /** Leave the group gracefully and close every connection. Idempotent. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await this.#h.close();
  }
}

/** Entry point: Grapevine.start(options) resolves to a GrapevineNode. */
export const Grapevine = {
  async start(options = {}) {
    if (options === null || typeof options !== 'object') throw fail('start(options): options must be an object');
    if (options.bootstrap === undefined || (Array.isArray(options.bootstrap) && options.bootstrap.length === 0)) {
      throw fail('start(options): options.bootstrap must list at least one native peer WebSocket, WebTransport or WebRTC-direct address, like /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW... (http pages) or /ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/uEi.../p2p/12D3KooW... (https pages)');
    }
    const api = await loadRuntime(options);
    const handle = await api.start(options);
    return new GrapevineNode(handle);
  },
  /** The Grapevine version of the loaded wasm (after a start), or undefined. */
  get version() { return globalThis.__grapevine?.version; },
};

export default Grapevine;
