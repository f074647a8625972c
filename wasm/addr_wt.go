package wasm

import (
	"fmt"
	"net"
	"strconv"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

// WebTransportPath is the HTTP/3 path a libp2p WebTransport server answers
// (libp2p/specs webtransport/webtransport.md); ?type=noise selects the
// Noise handshake.
const WebTransportPath = "/.well-known/libp2p-webtransport?type=noise"

// WebTransportTarget is what a browser needs to dial a libp2p WebTransport
// multiaddr: the URL and the SHA-256 digests of the certificates it may
// present (the multiaddr's /certhash components), which the page passes to
// new WebTransport(url, {serverCertificateHashes}) in place of a CA.
type WebTransportTarget struct {
	URL        string
	CertHashes [][]byte // SHA-256 digests, 32 bytes each
	// Hashes are all the multiaddr's certhashes, decoded; the server's
	// Noise handshake must list each of them.
	Hashes []multihash.DecodedMultihash
}

// ParseWebTransportAddr turns /ip4/1.2.3.4/udp/4001/quic-v1/webtransport/
// certhash/<h1>[/certhash/<h2>...][/p2p/<peer ID>] (or /ip6, /dns, /dns4,
// /dns6) into a WebTransportTarget. It needs at least one certhash, and at
// least one of them SHA-256 (the only hash browsers accept); any other
// address is an error.
func ParseWebTransportAddr(a ma.Multiaddr) (WebTransportTarget, error) {
	var t WebTransportTarget
	var host, port string
	const (
		wantHost = iota
		wantUDP
		wantQUIC
		wantWT
		wantHashes
		wantEnd
	)
	state := wantHost
	var bad error
	for _, c := range a {
		code := c.Protocol().Code
		switch {
		case state == wantHost && (code == ma.P_IP4 || code == ma.P_DNS || code == ma.P_DNS4 || code == ma.P_DNS6):
			host, state = c.Value(), wantUDP
		case state == wantHost && code == ma.P_IP6:
			host, state = c.Value(), wantUDP
		case state == wantUDP && code == ma.P_UDP:
			port, state = c.Value(), wantQUIC
		case state == wantQUIC && code == ma.P_QUIC_V1:
			state = wantWT
		case state == wantWT && code == ma.P_WEBTRANSPORT:
			state = wantHashes
		case state == wantHashes && code == ma.P_CERTHASH:
			_, raw, err := multibase.Decode(c.Value())
			if err != nil {
				bad = fmt.Errorf("%s: certhash %q is not multibase: %v", a, c.Value(), err)
				break
			}
			dh, err := multihash.Decode(raw)
			if err != nil {
				bad = fmt.Errorf("%s: certhash %q is not a multihash: %v", a, c.Value(), err)
				break
			}
			t.Hashes = append(t.Hashes, *dh)
			if dh.Code == multihash.SHA2_256 && len(dh.Digest) == 32 {
				t.CertHashes = append(t.CertHashes, dh.Digest)
			}
		case (state == wantHashes || state == wantEnd) && code == ma.P_P2P:
			state = wantEnd
		default:
			bad = fmt.Errorf("%s is not a WebTransport address (unexpected /%s; the form is /ip4/<ip>/udp/<port>/quic-v1/webtransport/certhash/<hash>)", a, c.Protocol().Name)
		}
		if bad != nil {
			return WebTransportTarget{}, bad
		}
	}
	if state != wantHashes && state != wantEnd {
		return WebTransportTarget{}, fmt.Errorf("%s is not a WebTransport address (the form is /ip4/<ip>/udp/<port>/quic-v1/webtransport/certhash/<hash>)", a)
	}
	if len(t.CertHashes) == 0 {
		return WebTransportTarget{}, fmt.Errorf("%s has no SHA-256 /certhash: a browser can only dial a WebTransport peer without a CA certificate by its certificate's SHA-256 hash", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return WebTransportTarget{}, fmt.Errorf("bad port in %s", a)
	}
	t.URL = "https://" + net.JoinHostPort(host, port) + WebTransportPath
	return t, nil
}

// IsWebTransportAddr reports whether a browser can dial a over WebTransport
// (ParseWebTransportAddr accepts it).
func IsWebTransportAddr(a ma.Multiaddr) bool {
	_, err := ParseWebTransportAddr(a)
	return err == nil
}
