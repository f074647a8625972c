package wasm

import (
	"bytes"
	"crypto/sha256"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

func certhash(t *testing.T, code uint64, digest []byte) string {
	mh, err := multihash.Encode(digest, code)
	if err != nil {
		t.Fatal(err)
	}
	s, err := multibase.Encode(multibase.Base64url, mh)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseWebTransportAddr(t *testing.T) {
	d1, d2 := sha256.Sum256([]byte("cert 1")), sha256.Sum256([]byte("cert 2"))
	h1, h2 := certhash(t, multihash.SHA2_256, d1[:]), certhash(t, multihash.SHA2_256, d2[:])
	h512 := certhash(t, multihash.SHA2_512, bytes.Repeat([]byte{1}, 64))
	const id = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	for _, c := range []struct {
		in, url string
		hashes  int
	}{
		{"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/" + h1, "https://127.0.0.1:4001/.well-known/libp2p-webtransport?type=noise", 1},
		{"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/" + h1 + "/certhash/" + h2 + "/p2p/" + id, "https://127.0.0.1:4001/.well-known/libp2p-webtransport?type=noise", 2},
		{"/ip6/::1/udp/443/quic-v1/webtransport/certhash/" + h512 + "/certhash/" + h2, "https://[::1]:443/.well-known/libp2p-webtransport?type=noise", 1},
		{"/dns4/example.org/udp/443/quic-v1/webtransport/certhash/" + h1, "https://example.org:443/.well-known/libp2p-webtransport?type=noise", 1},
	} {
		got, err := ParseWebTransportAddr(ma.StringCast(c.in))
		if err != nil || got.URL != c.url || len(got.CertHashes) != c.hashes {
			t.Errorf("%s: got %+v, %v; want %s with %d hashes", c.in, got, err, c.url, c.hashes)
		}
		if err == nil && !bytes.Equal(got.CertHashes[len(got.CertHashes)-1], d2[:]) && !bytes.Equal(got.CertHashes[0], d1[:]) {
			t.Errorf("%s: digests %x", c.in, got.CertHashes)
		}
		if !IsWebTransportAddr(ma.StringCast(c.in)) {
			t.Errorf("%s: not IsWebTransportAddr", c.in)
		}
	}
	for _, bad := range []string{
		"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport",                              // no certhash: needs a CA
		"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport/certhash/" + h512,             // no SHA-256
		"/ip4/127.0.0.1/udp/4001/quic-v1/certhash/" + h1,                            // not WebTransport
		"/ip4/127.0.0.1/udp/4001/quic-v1",                                           // QUIC
		"/ip4/127.0.0.1/tcp/4001/ws",                                                // WebSocket
		"/ip4/127.0.0.1/udp/0/quic-v1/webtransport/certhash/" + h1,                  // port 0
		"/ip4/127.0.0.1/udp/1/quic-v1/webtransport/certhash/" + h1 + "/p2p-circuit", // circuit
	} {
		if _, err := ParseWebTransportAddr(ma.StringCast(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
