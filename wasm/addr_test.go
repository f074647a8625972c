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
