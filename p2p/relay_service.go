//go:build !js

package p2p

import (
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// WithRelayService turns go-libp2p's circuit relay v2 service
// (libp2p/specs relay/circuit-v2.md) on or off. By default it runs on a
// peer that browsers can reach (one listening on WebSocket, WebTransport
// or WebRTC-direct, as DefaultListenAddrs do): browser peers reserve a
// slot on it and signal their WebRTC connections to each other through
// it (/webrtc-signaling/0.0.1 over a relayed connection, libp2p/specs
// webrtc/webrtc.md). The relay only relays, within RelayResources: it
// never dials for a request, and every relayed connection is cut after 2
// minutes or 128 KiB each way.
func WithRelayService(on bool) Option {
	return func(s *settings) error {
		if on {
			s.relaySvc = 1
		} else {
			s.relaySvc = -1
		}
		return nil
	}
}

// RelayResources are the limits of the relay service (WithRelayService),
// go-libp2p's defaults tightened where a Grapevine relay needs less:
//
//   - ReservationTTL 1 h (the default; a tab refreshes well before, and
//     its reservation goes when its connection does).
//   - MaxReservations 128 tabs, MaxReservationsPerIP 16, per ASN 32: a
//     reservation is a map entry, a tab holds one per relay, and several
//     tabs behind one NAT each need their own (the default per IP is 8).
//   - MaxCircuits 8 relayed connections per peer at once (default 16): a
//     circuit carries one signalling exchange of a few kilobytes and
//     lives seconds; a tab answers at most 8 exchanges at once anyway.
//   - Limit: each relayed connection is cut after 2 minutes or 128 KiB
//     each way (the defaults): an SDP offer or answer is about a
//     kilobyte, an ICE candidate a few hundred bytes, identify about two.
//   - BufferSize 2048 (the default) per direction of a circuit.
//
// The resource manager holds the service to go-libp2p's default relay
// service limits besides (libp2p.SetDefaultServiceLimits).
func RelayResources() relayv2.Resources {
	rc := relayv2.DefaultResources()
	rc.MaxReservations = 128
	rc.MaxReservationsPerIP = 16
	rc.MaxReservationsPerASN = 32
	rc.MaxCircuits = 8
	rc.Limit = &relayv2.RelayLimit{Duration: 2 * time.Minute, Data: 128 << 10}
	return rc
}

// browserReachable reports whether one of addrs is one a browser can dial:
// WebSocket, WebTransport or WebRTC-direct.
func browserReachable(addrs []ma.Multiaddr) bool {
	for _, a := range addrs {
		for _, c := range a {
			switch c.Protocol().Code {
			case ma.P_WS, ma.P_WSS, ma.P_WEBTRANSPORT, ma.P_WEBRTC_DIRECT:
				return true
			}
		}
	}
	return false
}

// relayHost is a host running the relay service; closing it stops the
// service first.
type relayHost struct {
	host.Host
	relay *relayv2.Relay
}

func (h *relayHost) Close() error {
	return errors.Join(h.relay.Close(), h.Host.Close())
}

// withRelayService starts the relay service on h when s asks for it (or,
// by default, when browsers can reach h) and returns the host to use; on
// error h is closed.
func withRelayService(h host.Host, s *settings) (host.Host, error) {
	if s.relaySvc < 0 || (s.relaySvc == 0 && !browserReachable(h.Addrs())) {
		return h, nil
	}
	// The reservation lists the relay's addresses for the client to
	// advertise; the default filter keeps public ones only, so a relay on
	// a LAN or loopback would send none. Tabs build their addresses from
	// the address they reached the relay on, so send them all.
	r, err := relayv2.New(h, relayv2.WithResources(RelayResources()),
		relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	if err != nil {
		h.Close()
		return nil, err
	}
	return &relayHost{Host: h, relay: r}, nil
}

// nativeDialGater is a native host's connection gater: the Peer's, and
// it refuses to dial browser-to-browser WebRTC addresses
// (.../p2p-circuit/webrtc, what tabs advertise). A native peer cannot
// make that connection (go-libp2p has no browser-to-browser WebRTC), and
// its circuit relay client would otherwise open a relayed connection to
// the tab through the tab's relay: a connection that carries no stream
// (it is limited), occupies one of the tab's few circuits at the relay,
// and makes the native wait for a direct connection. Natives reach tabs
// when the tabs connect to them, as before.
type nativeDialGater struct{ *gater }

func (g nativeDialGater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	if isBrowserRTCAddr(a) {
		return false
	}
	return g.gater.InterceptAddrDial(p, a)
}

// isBrowserRTCAddr reports whether a is a browser-to-browser WebRTC
// address: /webrtc after /p2p-circuit.
func isBrowserRTCAddr(a ma.Multiaddr) bool {
	circuit := false
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_CIRCUIT:
			circuit = true
		case ma.P_WEBRTC:
			if circuit {
				return true
			}
		}
	}
	return false
}
