//go:build !js

package p2p

import (
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/host"
	ma "github.com/multiformats/go-multiaddr"
)

// quicSharers are the listen addresses (after /udp/<port>) that go-libp2p
// can serve on its QUIC listener's UDP socket (quicreuse): WebTransport,
// and WebRTC-direct (whose STUN and DTLS packets quicreuse tells apart).
var quicSharers = []string{"/quic-v1/webtransport", "/webrtc-direct"}

// splitSharedUDP takes out of listen the WebTransport and WebRTC-direct
// addresses with port 0 whose IP also has a QUIC v1 address with port 0:
// libp2p.New would give each a UDP port of its own, while go-libp2p can
// serve them all on one socket (listenSharedUDP does it once the QUIC port
// is known). One UDP port is one firewall rule and one NAT mapping.
func splitSharedUDP(listen []string) (rest, shared []string) {
	quic := map[string]bool{}
	for _, a := range listen {
		if ip, ok := strings.CutSuffix(a, "/udp/0/quic-v1"); ok {
			quic[ip] = true
		}
	}
next:
	for _, a := range listen {
		for _, suffix := range quicSharers {
			if ip, ok := strings.CutSuffix(a, "/udp/0"+suffix); ok && quic[ip] {
				shared = append(shared, a)
				continue next
			}
		}
		rest = append(rest, a)
	}
	return rest, shared
}

// listenSharedUDP listens on each of shared (<ip>/udp/0/<protocol>) at the
// UDP port h's QUIC listener got on that IP.
func listenSharedUDP(h host.Host, shared []string) error {
	for _, a := range shared {
		ip, proto, _ := strings.Cut(a, "/udp/0")
		var port string
		for _, l := range h.Network().ListenAddresses() {
			s := l.String()
			if strings.HasPrefix(s, ip+"/udp/") && strings.HasSuffix(s, "/quic-v1") {
				port, _ = l.ValueForProtocol(ma.P_UDP)
				break
			}
		}
		if port == "" {
			return fmt.Errorf("listen address %s: no QUIC listener to share a port with", a)
		}
		addr, err := ma.NewMultiaddr(ip + "/udp/" + port + proto)
		if err != nil {
			return err
		}
		if err := h.Network().Listen(addr); err != nil {
			return fmt.Errorf("listen address %s: %w", addr, err)
		}
	}
	return nil
}
