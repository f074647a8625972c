package wasm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

// WebRTCDirectTarget is what a browser needs to dial a libp2p
// WebRTC-direct multiaddr (/ip4/<ip>/udp/<port>/webrtc-direct/certhash/
// <hash>): where the server listens and the SHA-256 fingerprint of its
// DTLS certificate, which the tab writes into the server's SDP answer so
// that the browser accepts that certificate and no other.
type WebRTCDirectTarget struct {
	IP          string // literal IPv4 or IPv6 address
	Port        int
	Fingerprint []byte // SHA-256 of the server's DTLS certificate
}

// ParseWebRTCDirectAddr parses /ip4|ip6/<ip>/udp/<port>/webrtc-direct/
// certhash/<sha-256 multihash>[/p2p/<peer ID>]. Names (/dns) are refused:
// the SDP needs an address.
func ParseWebRTCDirectAddr(a ma.Multiaddr) (WebRTCDirectTarget, error) {
	var t WebRTCDirectTarget
	const (
		wantHost = iota
		wantUDP
		wantWRD
		wantHash
		wantP2P
		wantEnd
	)
	state := wantHost
	for _, c := range a {
		code := c.Protocol().Code
		switch {
		case state == wantHost && (code == ma.P_IP4 || code == ma.P_IP6):
			t.IP, state = c.Value(), wantUDP
		case state == wantUDP && code == ma.P_UDP:
			n, err := strconv.Atoi(c.Value())
			if err != nil || n <= 0 || n > 65535 {
				return WebRTCDirectTarget{}, fmt.Errorf("bad port in %s", a)
			}
			t.Port, state = n, wantWRD
		case state == wantWRD && code == ma.P_WEBRTC_DIRECT:
			state = wantHash
		case state == wantHash && code == ma.P_CERTHASH:
			_, raw, err := multibase.Decode(c.Value())
			if err != nil {
				return WebRTCDirectTarget{}, fmt.Errorf("%s: certhash %q is not multibase: %v", a, c.Value(), err)
			}
			dh, err := multihash.Decode(raw)
			if err != nil {
				return WebRTCDirectTarget{}, fmt.Errorf("%s: certhash %q is not a multihash: %v", a, c.Value(), err)
			}
			if dh.Code != multihash.SHA2_256 || len(dh.Digest) != 32 {
				return WebRTCDirectTarget{}, fmt.Errorf("%s: the certhash must be SHA-256", a)
			}
			t.Fingerprint, state = dh.Digest, wantP2P
		case state == wantP2P && code == ma.P_P2P:
			state = wantEnd
		default:
			return WebRTCDirectTarget{}, fmt.Errorf("%s is not a WebRTC-direct address (unexpected /%s; the form is /ip4/<ip>/udp/<port>/webrtc-direct/certhash/<hash>)", a, c.Protocol().Name)
		}
	}
	if state != wantP2P && state != wantEnd {
		return WebRTCDirectTarget{}, fmt.Errorf("%s is not a WebRTC-direct address (the form is /ip4/<ip>/udp/<port>/webrtc-direct/certhash/<hash>)", a)
	}
	return t, nil
}

// IsWebRTCDirectAddr reports whether ParseWebRTCDirectAddr accepts a.
func IsWebRTCDirectAddr(a ma.Multiaddr) bool {
	_, err := ParseWebRTCDirectAddr(a)
	return err == nil
}

// webRTCDirectUfragPrefix marks version 2 of WebRTC-direct's ICE
// credentials (libp2p/specs webrtc/webrtc-direct.md): the client keeps
// the ufrag and password its browser chose (no SDP munging) and tells the
// server its password inside the server's ufrag, prefix + password, which
// the server reads from the STUN USERNAME of the client's checks.
const webRTCDirectUfragPrefix = "libp2p+webrtc+v2/"

// webRTCDirectAnswer is the SDP answer the server would give: ICE-lite,
// one data-channel m-line, its address as the only candidate, and its DTLS
// fingerprint (which the browser then requires of the server's
// certificate). As go-libp2p's createServerSDP.
func webRTCDirectAnswer(t WebRTCDirectTarget, serverUfrag string) string {
	ipv := "IP4"
	if ip := net.ParseIP(t.IP); ip != nil && ip.To4() == nil {
		ipv = "IP6"
	}
	return strings.Join([]string{
		"v=0",
		fmt.Sprintf("o=- 0 0 IN %s %s", ipv, t.IP),
		"s=-",
		"t=0 0",
		"a=ice-lite",
		fmt.Sprintf("m=application %d UDP/DTLS/SCTP webrtc-datachannel", t.Port),
		fmt.Sprintf("c=IN %s %s", ipv, t.IP),
		"a=mid:0",
		"a=ice-options:ice2",
		"a=ice-ufrag:" + serverUfrag,
		"a=ice-pwd:" + serverUfrag,
		"a=fingerprint:sha-256 " + interspersedHex(t.Fingerprint),
		"a=setup:passive",
		"a=sctp-port:5000",
		"a=max-message-size:16384",
		fmt.Sprintf("a=candidate:1 1 UDP 1 %s %d typ host", t.IP, t.Port),
		"a=end-of-candidates",
		"",
	}, "\r\n")
}

func interspersedHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{x}))
	}
	return strings.Join(parts, ":")
}

// sdpAttr returns the value of the first a=<name>: line of an SDP.
func sdpAttr(sdp, name string) (string, bool) {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "a="+name+":"); ok {
			return v, true
		}
	}
	return "", false
}

// sdpFingerprint returns the SHA-256 DTLS fingerprint of an SDP (the
// browser's own certificate, in its offer).
func sdpFingerprint(sdp string) ([]byte, error) {
	v, ok := sdpAttr(sdp, "fingerprint")
	if !ok {
		return nil, errors.New("the SDP has no a=fingerprint")
	}
	alg, hexfp, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(alg, "sha-256") {
		return nil, fmt.Errorf("the SDP's fingerprint %q is not sha-256", v)
	}
	fp, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexfp), ":", ""))
	if err != nil || len(fp) != 32 {
		return nil, fmt.Errorf("bad fingerprint %q", v)
	}
	return fp, nil
}

// webRTCDirectPrologue is the Noise prologue both sides must share:
// "libp2p-webrtc-noise:" then the multihashes of the client's and the
// server's DTLS fingerprints, which ties the Noise session to the DTLS
// session the browser verified.
func webRTCDirectPrologue(client, server []byte) ([]byte, error) {
	c, err := multihash.Encode(client, multihash.SHA2_256)
	if err != nil {
		return nil, err
	}
	s, err := multihash.Encode(server, multihash.SHA2_256)
	if err != nil {
		return nil, err
	}
	out := append([]byte("libp2p-webrtc-noise:"), c...)
	return append(out, s...), nil
}

// hasProtocol reports whether a has a component with the given code.
func hasProtocol(a ma.Multiaddr, code int) bool {
	for _, c := range a {
		if c.Protocol().Code == code {
			return true
		}
	}
	return false
}
