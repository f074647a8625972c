package p2p

import (
	"context"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

// TestDefaultWebTransportAddr: with the default listen addresses a peer
// advertises a WebTransport address that carries the certhashes a browser
// pins (two: the current and the next certificate), on the UDP port of its
// QUIC listener (go-libp2p's quicreuse shares the socket).
func TestDefaultWebTransportAddr(t *testing.T) {
	p, err := New(context.Background(), WithDHT(false), WithProfile(ProfileLocal), WithNotice(func(string) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	quicPorts := map[string]bool{}
	var wt []ma.Multiaddr
	for _, a := range p.Host().Addrs() {
		s := a.String()
		port, _ := a.ValueForProtocol(ma.P_UDP)
		switch {
		case strings.Contains(s, "/webtransport"):
			wt = append(wt, a)
		case strings.HasSuffix(s, "/quic-v1"):
			quicPorts[port] = true
		}
	}
	if len(wt) == 0 {
		t.Fatalf("no WebTransport address among %v", p.Host().Addrs())
	}
	for _, a := range wt {
		hashes := 0
		for _, c := range a {
			if c.Protocol().Code == ma.P_CERTHASH {
				hashes++
			}
		}
		if hashes == 0 {
			t.Errorf("WebTransport address %s has no certhash", a)
		}
		if port, _ := a.ValueForProtocol(ma.P_UDP); !quicPorts[port] {
			t.Errorf("WebTransport address %s is not on a QUIC port (%v)", a, quicPorts)
		}
	}
	t.Logf("WebTransport addresses: %v", wt)
}
