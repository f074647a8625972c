//go:build !js

package p2p

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/pnet"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	libp2pwebrtc "github.com/libp2p/go-libp2p/p2p/transport/webrtc"
	ws "github.com/libp2p/go-libp2p/p2p/transport/websocket"
	libp2pwebtransport "github.com/libp2p/go-libp2p/p2p/transport/webtransport"
)

// peerstoreTTL is how long addresses learned from membership, seeds and the
// DHT stay in the peerstore.
var peerstoreTTL = peerstore.RecentlyConnectedAddrTTL

// ErrAddrInUse is returned (wrapped) when a listen address is taken.
var ErrAddrInUse = errors.New("address already in use")

// newHost builds the libp2p host: TCP, QUIC v1, WebTransport, WebRTC-direct
// and WebSocket transports,
// Noise, yamux, a connection manager with the configured limits and the
// resource manager with libp2p's auto-scaled default limits plus
// Grapevine's per-peer protocol limits (limitConfig). TCP listens without
// SO_REUSEPORT, so a port another process listens on is refused
// (ErrAddrInUse) instead of silently shared, the kernel splitting the
// incoming connections between the two.
func newHost(sk crypto.PrivKey, s *settings, caps [2]int, g *gater) (host.Host, error) {
	listen := s.listen
	if len(s.psk) > 0 {
		// QUIC (and WebTransport, WebRTC) cannot run under pnet: the
		// defaults drop them, an explicit address is an error.
		if slices.Equal(listen, DefaultListenAddrs) {
			listen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/0/ws"}
		}
		for _, a := range listen {
			if strings.Contains(a, "/quic") || strings.Contains(a, "/webtransport") || strings.Contains(a, "/webrtc") {
				return nil, fmt.Errorf("listen address %s: QUIC, WebTransport and WebRTC do not support private networks (WithPrivateNetwork)", a)
			}
		}
	}
	if s.overlay && !s.connSet {
		s.connLow, s.connHigh = overlayConnLow, overlayConnHigh
	}
	cm, err := connmgr.NewConnManager(s.connLow, s.connHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	// Without a registerer the resource manager's own metrics are off too:
	// by default it feeds every reservation through a tracer that formats
	// a timestamp under a lock (7 % of an idle peer's CPU, measured with
	// p2pscale -idleprofile), for Prometheus collectors nobody reads.
	var rmOpts []rcmgr.Option
	if s.registerer == nil {
		rmOpts = append(rmOpts, rcmgr.WithMetricsDisabled())
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limitConfig(s.group, caps)), rmOpts...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	listen, sharedUDP := splitSharedUDP(listen)
	opts := []libp2p.Option{
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(ws.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(nativeDialGater{g}),
		libp2p.UserAgent("grapevine/" + Version),
	}
	if len(s.psk) > 0 {
		opts = append(opts, libp2p.PrivateNetwork(pnet.PSK(s.psk)))
	} else {
		// WebTransport and WebRTC-direct share the QUIC transport's UDP
		// socket (go-libp2p's quicreuse): browsers reach them with the
		// certhash each advertises.
		opts = append(opts, libp2p.Transport(libp2pquic.NewTransport), libp2p.Transport(libp2pwebtransport.New),
			libp2p.Transport(libp2pwebrtc.New))
	}
	if s.registerer != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(s.registerer))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		rm.Close()
		if isAddrInUse(err) {
			return nil, fmt.Errorf("cannot listen on %s: %w", strings.Join(s.listen, ", "), ErrAddrInUse)
		}
		return nil, fmt.Errorf("starting libp2p host: %w", err)
	}
	if err := listenSharedUDP(h, sharedUDP); err != nil {
		h.Close()
		return nil, err
	}
	return withRelayService(h, s)
}

// limitConfig is libp2p's auto-scaled default limits plus Grapevine's
// limits per protocol and per protocol and peer (addGroupLimits).
func limitConfig(group string, caps [2]int) rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	addGroupLimits(&limits, group, caps)
	return limits.AutoScale()
}

func isAddrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && errors.Is(oe.Err, syscall.EADDRINUSE) {
		return true
	}
	return strings.Contains(err.Error(), "address already in use")
}
