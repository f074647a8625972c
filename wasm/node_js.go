//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// Options configure a browser peer.
type Options struct {
	// Bootstrap lists native peers' WebSocket multiaddrs (http pages) or
	// WebTransport ones, /quic-v1/webtransport/certhash/..., or
	// WebRTC-direct ones, /webrtc-direct/certhash/... (https pages), each
	// ending in /p2p/<peer ID>. At least one must be reachable.
	Bootstrap []string
	// Group is the Grapevine group to join ("default" when empty).
	Group string
	// Profile selects the timing profile; it should match the native peers'.
	Profile p2p.Profile
	// Identity is the peer's ed25519 key; a fresh one when nil.
	Identity crypto.PrivKey
	// WebRTC turns on direct browser-to-browser connections (see doc.go).
	WebRTC bool
	// WebRTCFromNonMembers makes the tab answer WebRTC signalling from
	// peers that are not members of its group (any libp2p peer that dials
	// its /p2p-circuit/webrtc address, js-libp2p's included). Off by
	// default: a tab then answers members only, and a stranger never
	// learns its ICE candidates (its addresses).
	WebRTCFromNonMembers bool
	// ICEServers are STUN/TURN server URLs for WebRTC ("stun:host:port",
	// "turn:user:pass@host:port"). Empty is enough on one machine or LAN.
	ICEServers []string
	// ConnectTimeout bounds reaching the first bootstrap peer (default 15 s).
	ConnectTimeout time.Duration
	// Notice receives human-readable status lines.
	Notice func(string)
	// Persist names an IndexedDB store that keeps the tab's identity, its
	// delivery watermarks, recent messages and sequence numbers across
	// reloads (persist_js.go); empty: everything in memory.
	Persist    string
	persisting bool // the store is open (startPersistent)
	// extra p2p options (tests)
	Extra []p2p.Option
}

// Node is a Grapevine peer running in a web page: a p2p.Peer on a libp2p
// host built for the browser.
type Node struct {
	*p2p.Peer
	host *browserHost
	rtc  *rtcTransport
	once sync.Once
}

// Start builds the browser host, connects to the bootstrap peers (it
// returns once one of them answered), and starts the Grapevine peer on the
// host. Errors are worded for a web developer.
func Start(ctx context.Context, o Options) (*Node, error) {
	if o.Persist != "" && !o.persisting {
		return startPersistent(ctx, o)
	}
	if len(o.Bootstrap) == 0 {
		return nil, errors.New("bootstrap is empty: a browser peer needs the WebSocket address of at least one native Grapevine peer, like /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW...")
	}
	ais, err := p2p.ParseAddrInfos(o.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bad bootstrap address: %v", err)
	}
	dialable := 0
	for _, ai := range ais {
		for _, a := range ai.Addrs {
			if IsWebSocketAddr(a) || IsWebTransportAddr(a) || IsWebRTCDirectAddr(a) {
				dialable++
			}
		}
	}
	if dialable == 0 {
		return nil, fmt.Errorf("no bootstrap address is a WebSocket, WebTransport or WebRTC-direct address (a browser can only dial /ws or /wss addresses, /quic-v1/webtransport/certhash/... and /webrtc-direct/certhash/... ones): %s", strings.Join(o.Bootstrap, ", "))
	}
	if o.Group == "" {
		o.Group = "default"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	sk := o.Identity
	if sk == nil {
		if sk, err = p2p.GenerateKey(); err != nil {
			return nil, fmt.Errorf("cannot create an identity: %v", err)
		}
	}
	groupOpts := append([]p2p.Option{p2p.WithGroup(o.Group), p2p.WithProfile(o.Profile)}, o.Extra...)
	gater := p2p.NewPenaltyGater()
	h, err := newBrowserHost(sk, gater, groupOpts...)
	if err != nil {
		return nil, fmt.Errorf("cannot build the libp2p host: %v", err)
	}
	n := &Node{host: h}
	if o.WebRTC {
		n.rtc, err = newRTCTransport(h, o.ICEServers)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("cannot set up WebRTC: %v", err)
		}
	}

	// Reach the bootstrap peers; the first that answers lets us start.
	cctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	type res struct {
		ai  peer.AddrInfo
		err error
	}
	results := make(chan res, len(ais))
	for _, ai := range ais {
		go func(ai peer.AddrInfo) {
			results <- res{ai, h.Connect(cctx, ai)}
		}(ai)
	}
	var first *peer.AddrInfo
	var errs []string
	for range ais {
		r := <-results
		if r.err == nil {
			first = &r.ai
			break
		}
		errs = append(errs, fmt.Sprintf("%s: %v", r.ai.ID, r.err))
	}
	if first == nil {
		h.Close()
		return nil, fmt.Errorf("could not reach any bootstrap peer within %s (%s)", o.ConnectTimeout, strings.Join(errs, "; "))
	}
	if n.rtc != nil {
		relays := []peer.AddrInfo{*first}
		for _, ai := range ais {
			if ai.ID != first.ID {
				relays = append(relays, ai)
			}
		}
		n.rtc.useRelays(relays)
	}

	opts := []p2p.Option{
		p2p.WithHost(h),
		p2p.WithPenaltyGater(gater),
		p2p.WithGroup(o.Group),
		p2p.WithDHT(false),
		p2p.WithSeeds(o.Bootstrap...),
		p2p.WithProfile(o.Profile),
	}
	if o.Notice != nil {
		opts = append(opts, p2p.WithNotice(o.Notice))
	}
	opts = append(opts, o.Extra...)
	p, err := p2p.New(ctx, opts...)
	if err != nil {
		if n.rtc != nil {
			n.rtc.close()
		}
		h.Close()
		return nil, err
	}
	n.Peer = p
	n.allowSignalling(o.WebRTCFromNonMembers)
	return n, nil
}

// Close leaves the group and closes the host.
func (n *Node) Close() error {
	var err error
	n.once.Do(func() {
		err = n.Peer.Close()
		if n.rtc != nil {
			n.rtc.close()
		}
		n.host.Close()
	})
	return err
}

// Conn describes one live connection of the node.
type Conn struct {
	Peer      peer.ID
	Transport string // "websocket", "webtransport", "webrtc-direct", "webrtc" or "relay" (a circuit: signalling only)
	Addr      string
	Outbound  bool
	// BytesIn and BytesOut count WebRTC data-channel bytes (0 otherwise).
	BytesIn, BytesOut uint64
}

// Conns lists the node's live connections.
func (n *Node) Conns() []Conn {
	var out []Conn
	for _, c := range n.host.Network().Conns() {
		t := "websocket"
		if isRTCAddr(c.RemoteMultiaddr()) {
			t = "webrtc"
		} else if IsWebTransportAddr(c.RemoteMultiaddr()) {
			t = "webtransport"
		} else if hasProtocol(c.RemoteMultiaddr(), ma.P_WEBRTC_DIRECT) {
			t = "webrtc-direct"
		} else if c.Stat().Limited {
			t = "relay"
		}
		cn := Conn{Peer: c.RemotePeer(), Transport: t, Addr: c.RemoteMultiaddr().String(), Outbound: c.Stat().Direction == network.DirOutbound}
		if t == "webrtc" && n.rtc != nil {
			cn.BytesIn, cn.BytesOut, _ = n.rtc.traffic(c.RemotePeer())
		}
		out = append(out, cn)
	}
	return out
}
