package wasm

import (
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Addresses of libp2p's browser-to-browser WebRTC (libp2p/specs
// webrtc/webrtc.md) and of the circuit relay it signals over, in a file
// without build tags so that addr_relay_test.go runs natively.

// relayAddrs returns the addresses to advertise through relay: for each
// kind of address a browser dials (WebSocket, WebTransport,
// WebRTC-direct) the relay's first, followed by
// /p2p/<relay>/p2p-circuit/webrtc. One of each keeps the membership record
// small and lets http and https pages alike reach the relay.
func relayAddrs(relay peer.AddrInfo) []ma.Multiaddr {
	tail := ma.StringCast("/p2p/" + relay.ID.String() + "/p2p-circuit/webrtc")
	var out []ma.Multiaddr
	var ws, wt, wrd bool
	for _, a := range relay.Addrs {
		switch {
		case !ws && IsWebSocketAddr(a):
			ws = true
		case !wt && IsWebTransportAddr(a):
			wt = true
		case !wrd && IsWebRTCDirectAddr(a):
			wrd = true
		default:
			continue
		}
		out = append(out, a.Encapsulate(tail))
	}
	return out
}

// relayOf returns the relay of a relayed connection's remote address
// (<relay address>/p2p/<relay>/p2p-circuit).
func relayOf(a ma.Multiaddr) (relayAddr ma.Multiaddr, relay peer.ID, ok bool) {
	before, after := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CIRCUIT })
	if len(after) != 1 || len(before) == 0 {
		return nil, "", false
	}
	ai, err := peer.AddrInfoFromP2pAddr(before)
	if err != nil {
		return nil, "", false
	}
	return before, ai.ID, true
}
