package wasm

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
)

func TestParseWebRTCDirectAddr(t *testing.T) {
	d := sha256.Sum256([]byte("dtls cert"))
	h := certhash(t, multihash.SHA2_256, d[:])
	got, err := ParseWebRTCDirectAddr(ma.StringCast("/ip4/127.0.0.1/udp/4001/webrtc-direct/certhash/" + h + "/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"))
	if err != nil || got.IP != "127.0.0.1" || got.Port != 4001 || !bytes.Equal(got.Fingerprint, d[:]) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{
		"/ip4/127.0.0.1/udp/4001/webrtc-direct",
		"/dns4/example.org/udp/4001/webrtc-direct/certhash/" + h,
		"/ip4/127.0.0.1/udp/4001/webrtc-direct/certhash/" + certhash(t, multihash.SHA2_512, bytes.Repeat([]byte{1}, 64)),
		"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/" + h,
		"/ip4/127.0.0.1/tcp/4001/ws",
	} {
		if IsWebRTCDirectAddr(ma.StringCast(bad)) {
			t.Errorf("%s accepted", bad)
		}
	}
	sdp := webRTCDirectAnswer(got, webRTCDirectUfragPrefix+"pw")
	for _, want := range []string{"a=ice-lite", "m=application 4001 UDP/DTLS/SCTP webrtc-datachannel", "a=ice-ufrag:libp2p+webrtc+v2/pw", "a=ice-pwd:libp2p+webrtc+v2/pw",
		"a=candidate:1 1 UDP 1 127.0.0.1 4001 typ host", "a=setup:passive"} {
		if !strings.Contains(sdp, want+"\r\n") {
			t.Errorf("answer lacks %q:\n%s", want, sdp)
		}
	}
	fp, err := sdpFingerprint(sdp)
	if err != nil || !bytes.Equal(fp, d[:]) {
		t.Fatalf("fingerprint round trip: %x, %v", fp, err)
	}
	p, err := webRTCDirectPrologue(d[:], d[:])
	if err != nil || !bytes.HasPrefix(p, []byte("libp2p-webrtc-noise:\x12\x20")) || len(p) != 20+2*34 {
		t.Fatalf("prologue %x, %v", p, err)
	}
}
