//go:build js && wasm

package wasm

import (
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/core/transport"
	blankhost "github.com/libp2p/go-libp2p/p2p/host/blank"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/host/pstoremanager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	bconnmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// browserHost is a libp2p host assembled by hand from the go-libp2p parts
// that work in a browser: an in-memory peerstore, a swarm with the
// WebSocket, WebTransport, WebRTC-direct (and, once signalled, WebRTC)
// transports, the upgrader with Noise and yamux, blankhost (multistream)
// with identify, ping and the peerstore manager, and the stream and
// connect logic of basichost (tabhost_js.go). go-libp2p's libp2p.New
// cannot be used: it always links transports that need sockets; basichost
// is not used either: it links AutoNAT v1 and v2, hole punching, the relay
// service and UPnP/NAT-PMP port mapping, none of which a tab runs, and
// they were 0.7 MiB of the gzipped wasm (docs/benchmarks/wasm.md).
type browserHost struct {
	*blankhost.BlankHost
	swarm *swarm.Swarm
	up    transport.Upgrader
	rcmgr network.ResourceManager

	cm        connmgr.ConnManager
	ids       identify.IDService
	psm       *pstoremanager.PeerstoreManager
	addrsEvt  event.Emitter // EvtLocalAddressesUpdated, for identify push
	closeOnce sync.Once

	mu        sync.Mutex
	advertise []ma.Multiaddr // what Addrs returns (the WebRTC relay addresses)
}

// g refuses peers the Peer penalizes; limits are the peer's options, for
// the resource manager's limits of the group's protocols (TabLimits).
func newBrowserHost(sk crypto.PrivKey, g *p2p.PenaltyGater, limits ...p2p.Option) (*browserHost, error) {
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	if err := ps.AddPrivKey(pid, sk); err != nil {
		return nil, err
	}
	if err := ps.AddPubKey(pid, sk.GetPublic()); err != nil {
		return nil, err
	}
	bus := eventbus.NewBus()
	rm, err := newTabResourceManager(limits...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	sw, err := swarm.NewSwarm(pid, ps, bus, swarm.WithResourceManager(rm), swarm.WithDialTimeout(15*time.Second),
		swarm.WithDialRanker(rankDials), swarm.WithConnectionGater(g))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("swarm: %w", err)
	}
	muxers := []upgrader.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}
	nt, err := noise.New(noise.ID, sk, muxers)
	if err != nil {
		return nil, fmt.Errorf("noise: %w", err)
	}
	up, err := upgrader.New([]sec.SecureTransport{nt}, muxers, nil, rm, g)
	if err != nil {
		return nil, fmt.Errorf("upgrader: %w", err)
	}
	if err := sw.AddTransport(&wsTransport{up: up, rcmgr: rm}); err != nil {
		return nil, err
	}
	wt, err := newWTTransport(sk, rm)
	if err != nil {
		return nil, fmt.Errorf("webtransport: %w", err)
	}
	if err := sw.AddTransport(wt); err != nil {
		return nil, err
	}
	wrd, err := newWRDTransport(sk, rm)
	if err != nil {
		return nil, fmt.Errorf("webrtc-direct: %w", err)
	}
	if err := sw.AddTransport(wrd); err != nil {
		return nil, err
	}
	h := &browserHost{swarm: sw, up: up, rcmgr: rm}
	// A browser holds few connections well (each WebRTC one is a peer
	// connection with its own ICE and SCTP state): trim above 64.
	cm, err := bconnmgr.NewConnManager(32, 64, bconnmgr.WithGracePeriod(time.Minute))
	if err != nil {
		sw.Close()
		return nil, err
	}
	h.cm = cm
	h.BlankHost = blankhost.NewBlankHost(sw, blankhost.WithEventBus(bus), blankhost.WithConnectionManager(cm))
	if h.BlankHost == nil {
		sw.Close()
		return nil, fmt.Errorf("host: blankhost failed")
	}
	// Inbound streams: multistream-select with basichost's negotiation
	// timeout (blankhost has none).
	sw.SetStreamHandler(h.newStreamHandler)
	if h.addrsEvt, err = bus.Emitter(&event.EvtLocalAddressesUpdated{}); err != nil {
		h.Close()
		return nil, fmt.Errorf("host: %w", err)
	}
	// Identify without a signed peer record: blankhost signs its record
	// once, before any address is advertised; the listen addresses
	// identify sends come from Addrs.
	if h.ids, err = identify.NewIDService(h, identify.UserAgent("grapevine-browser/"+p2p.Version),
		identify.DisableSignedPeerRecord()); err != nil {
		h.Close()
		return nil, fmt.Errorf("identify: %w", err)
	}
	h.ids.Start()
	ping.NewPingService(h)
	if h.psm, err = pstoremanager.NewPeerstoreManager(ps, bus, sw); err != nil {
		h.Close()
		return nil, fmt.Errorf("peerstore manager: %w", err)
	}
	h.psm.Start()
	return h, nil
}

// setAdvertised sets what Addrs returns and tells identify, which pushes
// the new addresses to connected peers.
func (h *browserHost) setAdvertised(addrs []ma.Multiaddr) {
	h.mu.Lock()
	old := h.advertise
	h.advertise = addrs
	h.mu.Unlock()
	ev := event.EvtLocalAddressesUpdated{Diffs: true}
	for _, a := range addrs {
		ev.Current = append(ev.Current, event.UpdatedAddress{Address: a, Action: event.Added})
	}
	for _, a := range old {
		if !ma.Contains(addrs, a) {
			ev.Removed = append(ev.Removed, event.UpdatedAddress{Address: a, Action: event.Removed})
		}
	}
	h.addrsEvt.Emit(ev)
}

// Addrs returns the advertised addresses (a browser listens on none).
func (h *browserHost) Addrs() []ma.Multiaddr {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ma.Multiaddr(nil), h.advertise...)
}

// rankDials orders a peer's addresses for the swarm (rankDialsFor).
func rankDials(addrs []ma.Multiaddr) []network.AddrDelay {
	return rankDialsFor(addrs, pageIsHTTPS())
}
