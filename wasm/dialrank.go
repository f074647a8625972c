package wasm

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// rankDialsFor orders a peer's addresses for the tab's swarm. On an https
// page WebTransport addresses come first, WebRTC-direct ones 0.5 s later
// (a peer connection costs the browser more than a WebTransport session),
// WebSocket ones 1 s later (the page may not open ws://; they are for
// wss:// and localhost); on an http page WebSocket first, WebTransport 1 s
// and WebRTC-direct 1.5 s later. Within each kind, 250 ms apart. WebRTC addresses (one per signalling relay) are 2 s apart,
// in the order the peer advertises them, so a tab is not asked for several
// WebRTC connections in parallel but a dead relay costs only a short wait.
func rankDialsFor(addrs []ma.Multiaddr, https bool) []network.AddrDelay {
	out := make([]network.AddrDelay, 0, len(addrs))
	ws, wt, wrd, rtc := time.Duration(0), time.Second, 1500*time.Millisecond, time.Duration(0)
	if https {
		ws, wt, wrd = time.Second, 0, 500*time.Millisecond
	}
	for _, a := range addrs {
		switch {
		case isRTCAddr(a):
			out = append(out, network.AddrDelay{Addr: a, Delay: rtc})
			rtc += 2 * time.Second
		case IsWebTransportAddr(a):
			out = append(out, network.AddrDelay{Addr: a, Delay: wt})
			wt += 250 * time.Millisecond
		case IsWebRTCDirectAddr(a):
			out = append(out, network.AddrDelay{Addr: a, Delay: wrd})
			wrd += 250 * time.Millisecond
		default:
			out = append(out, network.AddrDelay{Addr: a, Delay: ws})
			ws += 250 * time.Millisecond
		}
	}
	return out
}
