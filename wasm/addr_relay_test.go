package wasm

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

const testRelay = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"

// TestRelayAddrs: one advertised address per kind a browser dials, each
// ending in /p2p/<relay>/p2p-circuit/webrtc and taken for a WebRTC
// address by the dialer.
func TestRelayAddrs(t *testing.T) {
	id, err := peer.Decode(testRelay)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []ma.Multiaddr
	for _, s := range []string{
		"/ip4/192.0.2.1/tcp/4001", // not for browsers
		"/ip4/192.0.2.1/tcp/4002/ws",
		"/ip4/192.0.2.1/tcp/4003/ws", // a second WebSocket one: skipped
		"/ip4/192.0.2.1/udp/4004/quic-v1/webtransport/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
		"/ip4/192.0.2.1/udp/4005/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
	} {
		addrs = append(addrs, ma.StringCast(s))
	}
	got := relayAddrs(peer.AddrInfo{ID: id, Addrs: addrs})
	want := []string{addrs[1].String(), addrs[3].String(), addrs[4].String()}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, a := range got {
		if a.String() != want[i]+"/p2p/"+testRelay+"/p2p-circuit/webrtc" {
			t.Errorf("address %d: %s", i, a)
		}
		if !isRTCAddr(a) {
			t.Errorf("%s is not taken for a WebRTC address", a)
		}
		relay, ok := splitRTCAddr(a)
		if !ok || relay.String() != want[i]+"/p2p/"+testRelay {
			t.Errorf("%s: relay part %v", a, relay)
		}
	}
}

// TestRelayOf: the relay of a relayed connection's remote address, and
// nothing for a direct one or a malformed one.
func TestRelayOf(t *testing.T) {
	base := "/ip4/192.0.2.1/tcp/4002/ws/p2p/" + testRelay
	a, id, ok := relayOf(ma.StringCast(base + "/p2p-circuit"))
	if !ok || id.String() != testRelay || a.String() != base {
		t.Fatalf("relayed: %v %v %v", a, id, ok)
	}
	for _, s := range []string{
		"/ip4/192.0.2.1/tcp/4002/ws",             // direct
		base,                                     // direct, with the peer ID
		"/ip4/192.0.2.1/tcp/4002/ws/p2p-circuit", // no relay ID
		base + "/p2p-circuit/p2p/" + testRelay,   // more after the circuit
		base + "/p2p-circuit/webrtc",             // not a relayed connection's address
	} {
		if _, _, ok := relayOf(ma.StringCast(s)); ok {
			t.Errorf("%s: taken for a relayed connection's address", s)
		}
	}
}
