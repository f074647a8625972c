// A js-libp2p node (libp2p, @libp2p/webrtc, @libp2p/webtransport,
// @libp2p/circuit-relay-v2, @libp2p/websockets, Noise, yamux, identify,
// ping) for the interop tests wasm/browsertest/jsinterop_test.go:
// window.interopDial(addr) dials a Grapevine address the way any js-libp2p
// application would (a tab's /p2p-circuit/webrtc/p2p/<tab>, a native peer's
// /quic-v1/webtransport/certhash/... or /webrtc-direct/certhash/...), pings
// it, and returns what identify learned. Bundled for the browser by build.sh.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { webTransport } from '@libp2p/webtransport'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

window.interopDial = async (addr) => {
  const node = await createLibp2p({
    transports: [webSockets(), webTransport(), webRTCDirect(), webRTC(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The test runs on loopback, which browsers' default gater refuses.
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ping: ping() }
  })
  try {
    const ma = multiaddr(addr)
    const conn = await node.dial(ma, { signal: AbortSignal.timeout(30000) })
    const rtt = await node.services.ping.ping(conn.remotePeer, { signal: AbortSignal.timeout(10000) })
    // identify runs on every new connection; wait for its result (the
    // agent version: the protocols alone may be only those a stream
    // negotiated, such as ping's).
    let peer
    for (let i = 0; i < 100; i++) {
      peer = await node.peerStore.get(conn.remotePeer)
      if (peer.metadata.has('AgentVersion')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const agent = peer.metadata.get('AgentVersion')
    return JSON.stringify({
      self: node.peerId.toString(),
      remotePeer: conn.remotePeer.toString(),
      rtt,
      remoteAddr: conn.remoteAddr.toString(),
      limited: conn.limits != null,
      protocols: peer.protocols,
      agent: agent ? new TextDecoder().decode(agent) : ''
    })
  } finally {
    await node.stop()
  }
}
window.interopReady = true
