//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
	msmux "github.com/multiformats/go-multistream"
)

// rtcTransport is libp2p's browser-to-browser WebRTC transport
// (libp2p/specs webrtc/webrtc.md) together with the circuit relay v2
// client it runs on (go-libp2p's circuitv2/client). A tab reserves a slot
// on native relays (relays_js.go) and advertises
// <relay address>/p2p/<relay>/p2p-circuit/webrtc/p2p/<tab>. Dialing such
// an address opens a relayed connection to the tab through the relay
// (Noise and yamux over a circuit), runs /webrtc-signaling/0.0.1 on it
// (rtcsignal_js.go) and returns the direct WebRTC connection (rtcConn);
// the relayed connection is closed. Incoming signalling streams arrive on
// relayed connections the circuit client accepted; the answered
// connections go to the swarm through the listener on /webrtc.
//
// The swarm hands every address with /p2p-circuit to the transport
// registered for P_CIRCUIT, so this one registers for it (and /webrtc)
// and passes plain circuit addresses to the circuit client.
type rtcTransport struct {
	h       *browserHost
	conf    webrtc.Configuration
	circuit *client.Client
	ctx     context.Context
	stop    context.CancelFunc
	in      chan transport.CapableConn
	slots   chan struct{} // bounds concurrent incoming exchanges

	// allow says whether a signalling exchange may go ahead (set by the
	// Node once its p2p.Peer runs: caller and relay must be members);
	// until then every exchange is refused.
	allow atomic.Pointer[func(caller, relay peer.ID) bool]
	// member says whether a peer is a current member (set with allow);
	// relays beyond the bootstrap peers are members.
	member atomic.Pointer[func(peer.ID) bool]
	sig    struct{ answered, refused, busy, failed atomic.Uint64 }
	drops  atomic.Uint64 // streams and channels dropped by rtcConns (backlog, unread bound), local ICE candidates dropped (queue)

	sigMu    sync.Mutex
	sigPeers map[peer.ID]int // incoming exchanges under way, by relay

	res *reservations

	mu    sync.Mutex
	ln    *rtcListener
	conns map[peer.ID]map[*rtcConn]struct{} // live connections (for traffic counters)
}

var (
	rtcListenAddr     = ma.StringCast("/webrtc")
	circuitListenAddr = ma.StringCast("/p2p-circuit")
)

const (
	// signalTimeout bounds one signalling exchange, relayed connection
	// included (the relay cuts circuits after 2 minutes anyway).
	signalTimeout = 30 * time.Second
	// slotsPerRelay: at most this many of the cap(slots) (8) incoming
	// exchanges come through one relay.
	slotsPerRelay = 4
)

func newRTCTransport(h *browserHost, iceServers []string) (*rtcTransport, error) {
	conf, err := iceConfig(iceServers)
	if err != nil {
		return nil, err
	}
	c, err := client.New(h, h.up)
	if err != nil {
		return nil, err
	}
	t := &rtcTransport{h: h, conf: conf, circuit: c, in: make(chan transport.CapableConn), slots: make(chan struct{}, 8)}
	t.ctx, t.stop = context.WithCancel(context.Background())
	t.res = newReservations(t)
	if err := h.swarm.AddTransport(t); err != nil {
		return nil, err
	}
	if err := h.swarm.Listen(circuitListenAddr, rtcListenAddr); err != nil {
		return nil, err
	}
	c.Start() // the circuit's STOP handler: relayed connections to us
	h.Network().Notify(&network.NotifyBundle{ConnectedF: t.limitRelayed})
	h.SetStreamHandler(SignalingProtocol, t.handleSignal)
	return t, nil
}

// iceConfig turns ICE server URLs (ParseICEServers) into the peer connection's configuration.
func iceConfig(servers []string) (webrtc.Configuration, error) {
	var c webrtc.Configuration
	list, err := ParseICEServers(servers)
	if err != nil {
		return c, err
	}
	for _, s := range list {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: []string{s.URL}, Username: s.Username, Credential: s.Credential})
	}
	return c, nil
}

// relayedLifetime is how long the tab keeps a relayed connection another
// peer opened: long enough for one signalling exchange. Such a
// connection is only for signalling (the relay cuts it after 2 minutes
// or 128 KiB anyway); closing it frees the tab's circuit at the relay.
const relayedLifetime = signalTimeout + 5*time.Second

// limitRelayed closes a relayed connection relayedLifetime after it
// opened.
func (t *rtcTransport) limitRelayed(_ network.Network, c network.Conn) {
	if !c.Stat().Limited {
		return
	}
	go func() {
		timer := time.NewTimer(relayedLifetime)
		defer timer.Stop()
		select {
		case <-timer.C:
			c.Close()
		case <-t.ctx.Done():
		}
	}()
}

// close stops signalling and the reservations. The circuit client stops
// when the swarm closes its listener (closing it before would make the
// swarm log its listener as "unintentionally closed").
func (t *rtcTransport) close() {
	t.stop()
	t.res.close()
	t.h.RemoveStreamHandler(SignalingProtocol)
}

// track remembers c as a connection to p until it closes.
func (t *rtcTransport) track(p peer.ID, c *rtcConn) {
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[peer.ID]map[*rtcConn]struct{}{}
	}
	if t.conns[p] == nil {
		t.conns[p] = map[*rtcConn]struct{}{}
	}
	t.conns[p][c] = struct{}{}
	t.mu.Unlock()
	go func() {
		<-c.done
		t.mu.Lock()
		delete(t.conns[p], c)
		if len(t.conns[p]) == 0 {
			delete(t.conns, p)
		}
		t.mu.Unlock()
	}()
}

// traffic returns the data-channel bytes received from and sent to p over
// its live WebRTC connections (two when both sides dialled at once).
func (t *rtcTransport) traffic(p peer.ID) (in, out uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns[p] {
		in += c.acct.in.Load()
		out += c.acct.out.Load()
		ok = true
	}
	return in, out, ok
}

func (t *rtcTransport) CanDial(a ma.Multiaddr) bool { return t.circuit.CanDial(a) }
func (t *rtcTransport) Protocols() []int            { return []int{ma.P_CIRCUIT, ma.P_WEBRTC} }

// Proxy is false: a WebRTC connection is direct. Relayed connections
// belong to the circuit client, whose Proxy is true.
func (t *rtcTransport) Proxy() bool { return false }

// SkipResolve: the relay's address is resolved by its own transport.
func (t *rtcTransport) SkipResolve(context.Context, ma.Multiaddr) bool { return true }

func (t *rtcTransport) Listen(a ma.Multiaddr) (transport.Listener, error) {
	if a.Equal(circuitListenAddr) {
		return t.circuit.Listen(a)
	}
	if !a.Equal(rtcListenAddr) {
		return nil, fmt.Errorf("the WebRTC transport listens on /webrtc and /p2p-circuit only, not %s", a)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln != nil {
		return nil, errors.New("already listening on /webrtc")
	}
	t.ln = &rtcListener{t: t, closed: make(chan struct{})}
	return t.ln, nil
}

func (t *rtcTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	if !isRTCAddr(raddr) {
		return t.circuit.Dial(ctx, raddr, p)
	}
	relayAddr, _ := splitRTCAddr(raddr)
	relay, err := peer.AddrInfoFromP2pAddr(relayAddr)
	if err != nil {
		return nil, fmt.Errorf("WebRTC address %s: bad relay part: %v", raddr, err)
	}
	if relay.ID == t.h.ID() || p == t.h.ID() || relay.ID == p {
		return nil, errors.New("cannot dial self over WebRTC")
	}
	scope, err := outboundScope(t.h.rcmgr, raddr, p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, signalTimeout)
	defer cancel()
	c, err := t.dial(ctx, relayAddr.Encapsulate(circuitListenAddr), raddr, p, scope)
	if err != nil {
		return nil, fmt.Errorf("WebRTC to %s: %w", p, err)
	}
	t.track(p, c)
	return c, nil
}

// dial opens a relayed connection to p over circuit, signals over it and
// returns the WebRTC connection once connected. The connection owns scope
// from its creation (its Close, from any path, releases it); before that,
// a failure releases it here.
func (t *rtcTransport) dial(ctx context.Context, circuit, raddr ma.Multiaddr, p peer.ID, scope network.ConnManagementScope) (_ *rtcConn, err error) {
	owned := false
	defer func() {
		if err != nil && !owned {
			scope.Done()
		}
	}()
	rc, err := t.circuit.Dial(ctx, circuit, p)
	if err != nil {
		return nil, fmt.Errorf("relayed connection: %w", err)
	}
	// The relayed connection is ours alone (not the swarm's): it carries
	// the signalling stream and is closed after. Streams the other side
	// opens on it (identify) are reset.
	defer rc.Close()
	go func() {
		for {
			s, err := rc.AcceptStream()
			if err != nil {
				return
			}
			s.Reset()
		}
	}()
	ms, err := rc.OpenStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("signalling stream: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ms.SetDeadline(dl)
	}
	if err := msmux.SelectProtoOrFail(protocol.ID(SignalingProtocol), ms); err != nil {
		ms.Reset()
		return nil, fmt.Errorf("signalling stream: %w", err)
	}
	pc, err := webrtc.NewPeerConnection(t.conf)
	if err != nil {
		ms.Reset()
		return nil, err
	}
	c := newRTCConn(t, pc, &t.drops, scope)
	owned = true
	c.lpeer, c.rpeer, c.rkey = t.h.ID(), p, rc.RemotePublicKey()
	c.local, c.remote = rtcListenAddr, raddr
	if err := offerSide(ctx, newSignalConn(ms, &t.drops), c); err != nil {
		ms.Reset()
		c.Close()
		return nil, err
	}
	ms.Close()
	return c, nil
}

func (t *rtcTransport) takeSlot(relay peer.ID) bool {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	if t.sigPeers[relay] >= slotsPerRelay {
		return false
	}
	select {
	case t.slots <- struct{}{}:
	default:
		return false
	}
	if t.sigPeers == nil {
		t.sigPeers = map[peer.ID]int{}
	}
	t.sigPeers[relay]++
	return true
}

func (t *rtcTransport) releaseSlot(relay peer.ID) {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	<-t.slots
	if t.sigPeers[relay]--; t.sigPeers[relay] <= 0 {
		delete(t.sigPeers, relay)
	}
}

// allowed reports whether this tab answers caller's offer relayed by relay.
func (t *rtcTransport) allowed(caller, relay peer.ID) bool {
	f := t.allow.Load()
	return f != nil && caller != t.h.ID() && (*f)(caller, relay)
}

// handleSignal answers a /webrtc-signaling/0.0.1 stream. It answers only
// on a relayed connection, a caller that is a member of the group,
// relayed by a member (allowed): anyone else is refused (the stream is
// reset) before this tab reads the offer or sends anything, so its ICE
// candidates (with a STUN server, its public address) never reach a
// stranger. At most cap(slots) exchanges run at once, slotsPerRelay of
// them through one relay.
func (t *rtcTransport) handleSignal(s network.Stream) {
	conn := s.Conn()
	caller := conn.RemotePeer()
	relayAddr, relay, ok := relayOf(conn.RemoteMultiaddr())
	if !ok {
		t.sig.refused.Add(1)
		s.Reset()
		return
	}
	if !t.takeSlot(relay) {
		t.sig.busy.Add(1)
		s.Reset()
		return
	}
	defer t.releaseSlot(relay)
	if !t.allowed(caller, relay) {
		t.sig.refused.Add(1)
		s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(t.ctx, signalTimeout)
	defer cancel()
	_ = s.SetDeadline(time.Now().Add(signalTimeout))
	// The connection's resource scope first: the resource manager bounds
	// the connections being negotiated too.
	raddr := relayAddr.Encapsulate(ma.StringCast("/p2p-circuit/webrtc"))
	scope, err := t.h.rcmgr.OpenConnection(network.DirInbound, false, raddr)
	if err != nil {
		t.sig.busy.Add(1)
		s.Reset()
		return
	}
	if err := scope.SetPeer(caller); err != nil {
		t.sig.busy.Add(1)
		scope.Done()
		s.Reset()
		return
	}
	pc, err := webrtc.NewPeerConnection(t.conf)
	if err != nil {
		scope.Done()
		s.Reset()
		return
	}
	c := newRTCConn(t, pc, &t.drops, scope)
	c.lpeer, c.rpeer, c.rkey = t.h.ID(), caller, conn.RemotePublicKey()
	c.local, c.remote = rtcListenAddr, raddr
	if err := answerSide(ctx, newSignalConn(s, &t.drops), c); err != nil {
		t.sig.failed.Add(1)
		s.Reset()
		c.Close()
		return
	}
	t.sig.answered.Add(1)
	s.Close()
	t.track(caller, c)
	t.mu.Lock()
	ln := t.ln
	t.mu.Unlock()
	if ln == nil {
		c.Close()
		return
	}
	select {
	case t.in <- c:
	case <-ln.closed:
		c.Close()
	case <-ctx.Done():
		c.Close()
	}
}

// rtcListener hands incoming WebRTC connections to the swarm.
type rtcListener struct {
	t      *rtcTransport
	once   sync.Once
	closed chan struct{}
}

func (l *rtcListener) Accept() (transport.CapableConn, error) {
	select {
	case c := <-l.t.in:
		return c, nil
	case <-l.closed:
		return nil, transport.ErrListenerClosed
	}
}

func (l *rtcListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.t.mu.Lock()
		l.t.ln = nil
		l.t.mu.Unlock()
	})
	return nil
}

func (l *rtcListener) Addr() net.Addr          { return rtcNetAddr{} }
func (l *rtcListener) Multiaddr() ma.Multiaddr { return rtcListenAddr }
