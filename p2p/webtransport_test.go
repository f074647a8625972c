package p2p

import (
	"context"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

// TestDefaultWebTransportAddr: with the default listen addresses a peer
// advertises WebTransport and WebRTC-direct addresses that carry the
// certhashes a browser pins (WebTransport: the current and the next
// certificate), on the UDP port of its QUIC listener (go-libp2p's
// quicreuse shares the socket).
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
		case strings.Contains(s, "/webtransport"), strings.Contains(s, "/webrtc-direct"):
			wt = append(wt, a)
		case strings.HasSuffix(s, "/quic-v1"):
			quicPorts[port] = true
		}
	}
	kinds := map[bool]bool{}
	for _, a := range wt {
		kinds[strings.Contains(a.String(), "/webtransport")] = true
	}
	if !kinds[true] || !kinds[false] {
		t.Fatalf("no WebTransport or no WebRTC-direct address among %v", p.Host().Addrs())
	}
	for _, a := range wt {
		hashes := 0
		for _, c := range a {
			if c.Protocol().Code == ma.P_CERTHASH {
				hashes++
			}
		}
		if hashes == 0 {
			t.Errorf("address %s has no certhash", a)
		}
		if port, _ := a.ValueForProtocol(ma.P_UDP); !quicPorts[port] {
			t.Errorf("address %s is not on a QUIC port (%v)", a, quicPorts)
		}
	}
	t.Logf("browser addresses: %v", wt)
}
