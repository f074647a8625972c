// A js-libp2p node (libp2p, @libp2p/webrtc, @libp2p/circuit-relay-v2,
// @libp2p/websockets, Noise, yamux, identify, ping) for the interop test
// wasm/browsertest/jsinterop_test.go: window.interopDial(addr) dials a
// Grapevine tab's /p2p-circuit/webrtc/p2p/<tab> address the way any
// js-libp2p application would, pings it, and returns what identify learned.
// Bundled for the browser by build.sh.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

window.interopDial = async (addr) => {
  const node = await createLibp2p({
    transports: [webSockets(), webRTC(), circuitRelayTransport()],
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
    // identify runs on every new connection; wait for its result.
    let peer
    for (let i = 0; i < 50; i++) {
      peer = await node.peerStore.get(conn.remotePeer)
      if (peer.protocols.length > 0) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const agent = peer.metadata.get('AgentVersion')
    return JSON.stringify({
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
