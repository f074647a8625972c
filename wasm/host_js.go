//go:build js && wasm

package wasm

import (
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/core/transport"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// browserHost is a libp2p host assembled by hand from the go-libp2p parts
// that work in a browser: an in-memory peerstore, a swarm with the
// WebSocket (and, once signalled, WebRTC) transports, the upgrader with
// Noise and yamux, and basichost (identify, multistream). go-libp2p's
// libp2p.New cannot be used: it always links transports that need sockets.
type browserHost struct {
	*bhost.BasicHost
	swarm *swarm.Swarm
	up    transport.Upgrader
	rcmgr network.ResourceManager

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
	h := &browserHost{swarm: sw, up: up, rcmgr: rm}
	// A browser holds few connections well (each WebRTC one is a peer
	// connection with its own ICE and SCTP state): trim above 64.
	cm, err := connmgr.NewConnManager(32, 64, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		sw.Close()
		return nil, err
	}
	bh, err := bhost.NewHost(sw, &bhost.HostOpts{
		EventBus:    bus,
		ConnManager: cm,
		UserAgent:   "grapevine-browser/" + p2p.Version,
		AddrsFactory: func([]ma.Multiaddr) []ma.Multiaddr {
			h.mu.Lock()
			defer h.mu.Unlock()
			return append([]ma.Multiaddr(nil), h.advertise...)
		},
	})
	if err != nil {
		sw.Close()
		return nil, fmt.Errorf("host: %w", err)
	}
	bh.Start()
	h.BasicHost = bh
	return h, nil
}

func (h *browserHost) setAdvertised(addrs []ma.Multiaddr) {
	h.mu.Lock()
	h.advertise = addrs
	h.mu.Unlock()
}

// rankDials orders a peer's addresses for the swarm: WebSocket addresses
// at once, 250 ms apart; WebRTC addresses (one per signalling relay) 2 s
// apart, in the order the peer advertises them, so a tab is not asked for
// several WebRTC connections in parallel but a dead relay costs only a
// short wait.
func rankDials(addrs []ma.Multiaddr) []network.AddrDelay {
	out := make([]network.AddrDelay, 0, len(addrs))
	var ws, rtc time.Duration
	for _, a := range addrs {
		if isRTCAddr(a) {
			out = append(out, network.AddrDelay{Addr: a, Delay: rtc})
			rtc += 2 * time.Second
		} else {
			out = append(out, network.AddrDelay{Addr: a, Delay: ws})
			ws += 250 * time.Millisecond
		}
	}
	return out
}
