package wasm

import (
	"crypto/sha256"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
)

// TestRankDials: an https page tries WebTransport at once, WebRTC-direct
// half a second and WebSocket a second later; an http page WebSocket at
// once, then WebTransport, then WebRTC-direct.
func TestRankDials(t *testing.T) {
	d := sha256.Sum256([]byte("cert"))
	wt := ma.StringCast("/ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/" + certhash(t, multihash.SHA2_256, d[:]))
	ws := ma.StringCast("/ip4/127.0.0.1/tcp/4001/ws")
	ws2 := ma.StringCast("/ip4/127.0.0.2/tcp/4001/ws")
	wrd := ma.StringCast("/ip4/127.0.0.1/udp/4001/webrtc-direct/certhash/" + certhash(t, multihash.SHA2_256, d[:]))
	delays := func(https bool) map[string]time.Duration {
		out := map[string]time.Duration{}
		for _, ad := range rankDialsFor([]ma.Multiaddr{ws, wt, ws2, wrd}, https) {
			out[ad.Addr.String()] = ad.Delay
		}
		return out
	}
	if got := delays(true); got[wt.String()] != 0 || got[wrd.String()] != 500*time.Millisecond || got[ws.String()] != time.Second || got[ws2.String()] != 1250*time.Millisecond {
		t.Errorf("https page: %v", got)
	}
	if got := delays(false); got[ws.String()] != 0 || got[ws2.String()] != 250*time.Millisecond || got[wt.String()] != time.Second || got[wrd.String()] != 1500*time.Millisecond {
		t.Errorf("http page: %v", got)
	}
}
