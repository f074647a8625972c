//go:build !js

package p2p

import (
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/host"
	ma "github.com/multiformats/go-multiaddr"
)

// splitSharedWebTransport takes out of listen the WebTransport addresses
// with port 0 whose IP also has a QUIC v1 address with port 0: libp2p.New
// would give them a UDP port of their own, while go-libp2p's quicreuse can
// serve both on one socket (listenSharedWebTransport does it once the QUIC
// port is known). One UDP port is one firewall rule and one NAT mapping.
func splitSharedWebTransport(listen []string) (rest, shared []string) {
	quic := map[string]bool{}
	for _, a := range listen {
		if ip, ok := strings.CutSuffix(a, "/udp/0/quic-v1"); ok {
			quic[ip] = true
		}
	}
	for _, a := range listen {
		if ip, ok := strings.CutSuffix(a, "/udp/0/quic-v1/webtransport"); ok && quic[ip] {
			shared = append(shared, a)
			continue
		}
		rest = append(rest, a)
	}
	return rest, shared
}

// listenSharedWebTransport listens on each of shared (ip/udp/0/quic-v1/
// webtransport) at the UDP port h's QUIC listener got on that IP.
func listenSharedWebTransport(h host.Host, shared []string) error {
	for _, a := range shared {
		ip := strings.TrimSuffix(a, "/udp/0/quic-v1/webtransport")
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
		wt, err := ma.NewMultiaddr(ip + "/udp/" + port + "/quic-v1/webtransport")
		if err != nil {
			return err
		}
		if err := h.Network().Listen(wt); err != nil {
			return fmt.Errorf("listen address %s: %w", wt, err)
		}
	}
	return nil
}
