package wasm

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

func TestWebSocketURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/ip4/127.0.0.1/tcp/4001/ws", "ws://127.0.0.1:4001/"},
		{"/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf", "ws://127.0.0.1:4001/"},
		{"/ip6/::1/tcp/80/ws", "ws://[::1]:80/"},
		{"/dns4/example.org/tcp/443/wss", "wss://example.org:443/"},
		{"/dns/example.org/tcp/443/tls/ws", "wss://example.org:443/"},
		{"/dns/example.org/tcp/443/tls/sni/example.org/ws", "wss://example.org:443/"},
	}
	for _, c := range cases {
		got, err := WebSocketURL(ma.StringCast(c.in))
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1", "/dns4/x/tcp/1/ws/p2p-circuit"} {
		if _, err := WebSocketURL(ma.StringCast(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
		if IsWebSocketAddr(ma.StringCast(bad)) {
			t.Errorf("%s: IsWebSocketAddr", bad)
		}
	}
}

func TestRTCAddr(t *testing.T) {
	const relay = "/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	const peer = "/p2p/12D3KooWEb1Ym89KBrdoz1PBrK8SNGA1TgrTKd7t9P3VMwFQvyBB"
	for _, in := range []string{relay + "/p2p-circuit/webrtc", relay + "/p2p-circuit/webrtc" + peer} {
		r, ok := splitRTCAddr(ma.StringCast(in))
		if !ok || r.String() != relay {
			t.Errorf("%s: relay %v, %v", in, r, ok)
		}
	}
	for _, in := range []string{relay, relay + "/p2p-circuit", "/p2p-circuit/webrtc", "/webrtc", relay + "/webrtc",
		relay + "/p2p-circuit/webrtc/tcp/1", relay + "/p2p-circuit/p2p-circuit/webrtc"} {
		if isRTCAddr(ma.StringCast(in)) {
			t.Errorf("%s: taken for a WebRTC address", in)
		}
	}
}

func TestParseICEServers(t *testing.T) {
	got, err := ParseICEServers([]string{"stun:stun.example.org:3478", " ", "turn:al%3Ai:p%40ss@turn.example.org:3478?transport=tcp", "turns:turn.example.org:5349"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ICEServer{
		{URL: "stun:stun.example.org:3478"},
		{URL: "turn:turn.example.org:3478?transport=tcp", Username: "al:i", Credential: "p@ss"},
		{URL: "turns:turn.example.org:5349"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"http://x", "stun:", "stun:u:p@host:1", "turn:@host:1", "turn:user@host:1", "x"} {
		if _, err := ParseICEServers([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzAddrs(f *testing.F) {
	for _, s := range []string{"/ip4/127.0.0.1/tcp/4001/ws", "/dns4/x/tcp/443/tls/sni/x/ws", "/ip4/1.2.3.4/tcp/1/ws/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf/p2p-circuit/webrtc"} {
		f.Add(ma.StringCast(s).Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return
		}
		WebSocketURL(a)
		splitRTCAddr(a)
	})
}
